"""Request checks Strawberry lacks: directives per document (OWASP "directive overloading"), NUL characters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import DirectiveNode, GraphQLError, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

DIRECTIVES_CODE = "TOO_MANY_DIRECTIVES"
NUL_CODE = "INVALID_CHARACTER"


class _DirectiveCounter(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def enter_directive(self, node: DirectiveNode, *_args: object) -> None:
        self.count += 1


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
            counter = _DirectiveCounter()
            visit(document, counter)
            if counter.count > self.max_directives:
                self.execution_context.pre_execution_errors = [GraphQLError(
                    f"The document uses {counter.count} directives; at most {self.max_directives} are allowed.",
                    extensions={"code": DIRECTIVES_CODE})]
        yield


class _NulFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_args: object) -> None:
        self.found = self.found or "\x00" in node.value


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class NulCharacterGuard(SchemaExtension):
    """Refuses text holding the NUL character (\\u0000), in the document or the variables, before anything runs:
    PostgreSQL cannot store it, so it would otherwise fail deep inside a resolver."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        finder = _NulFinder()
        if context.graphql_document is not None:
            visit(context.graphql_document, finder)
        if finder.found or _has_nul(context.variables):
            raise GraphQLError("Text values may not contain the NUL character (\\u0000); remove it and retry.",
                               extensions={"code": NUL_CODE})
        yield
