"""Request checks Strawberry lacks: directives per document (OWASP "directive overloading"), NUL characters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import DirectiveNode, GraphQLError, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

DIRECTIVES_CODE = "TOO_MANY_DIRECTIVES"
NUL_CODE = "INVALID_CHARACTER"


class _Facts(Visitor):
    """What the checks below need from a document: its directives, and whether a string holds a NUL."""

    def __init__(self) -> None:
        super().__init__()
        self.directives = 0
        self.nul = False

    def enter_directive(self, node: DirectiveNode, *_args: object) -> None:
        self.directives += 1

    def enter_string_value(self, node: StringValueNode, *_args: object) -> None:
        self.nul = self.nul or "\x00" in node.value


_facts: dict[str, tuple[int, bool]] = {}
_MAX_REMEMBERED = 1000


def document_facts(query: str | None, document: Any) -> tuple[int, bool]:
    """(directives, has a NUL) of a parsed document, remembered by query text (the parser cache hands back
    the same document for the same text, so walking it again on every request is wasted)."""
    known = _facts.get(query) if query is not None else None
    if known is None:
        facts = _Facts()
        visit(document, facts)
        known = (facts.directives, facts.nul)
        if query is not None:
            if len(_facts) >= _MAX_REMEMBERED:
                _facts.clear()
            _facts[query] = known
    return known


class MaxDirectivesLimiter(SchemaExtension):
    """Refuses a document with more than `max_directives` directives with one error, not one per directive.

    Listed after ValidationCache, so its single error replaces whatever validation found.
    """

    def __init__(self, max_directives: int) -> None:
        super().__init__()
        self.max_directives = max_directives

    def on_validate(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        if document is not None:
            count, _ = document_facts(self.execution_context.query, document)
            if count > self.max_directives:
                self.execution_context.pre_execution_errors = [GraphQLError(
                    f"The document uses {count} directives; at most {self.max_directives} are allowed.",
                    extensions={"code": DIRECTIVES_CODE})]
        yield


def _has_nul(value: Any) -> bool:
    """Iterative: variables nested a thousand levels deep must not exhaust the stack."""
    pending = [value]
    while pending:
        current = pending.pop()
        if isinstance(current, str):
            if "\x00" in current:
                return True
        elif isinstance(current, dict):
            pending.extend(current.keys())
            pending.extend(current.values())
        elif isinstance(current, list | tuple):
            pending.extend(current)
    return False


class NulCharacterGuard(SchemaExtension):
    """Refuses text holding the NUL character (\\u0000), in the document or the variables, before anything runs:
    PostgreSQL cannot store it, so it would otherwise fail deep inside a resolver."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        in_document = context.graphql_document is not None and document_facts(context.query,
                                                                              context.graphql_document)[1]
        if in_document or _has_nul(context.variables):
            raise GraphQLError("Text values may not contain the NUL character (\\u0000); remove it and retry.",
                               extensions={"code": NUL_CODE})
        yield
