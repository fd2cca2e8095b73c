"""Request limits Strawberry lacks: directives per document (OWASP "directive overloading")."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import DirectiveNode, GraphQLError, Visitor, visit
from strawberry.extensions import SchemaExtension

DIRECTIVES_CODE = "TOO_MANY_DIRECTIVES"


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
