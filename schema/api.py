"""The Schema assembly: every domain's Query and Mutation fields, the extensions and limits."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import strawberry
from strawberry import relay
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig

from app.settings import Settings
from app.throttle import Throttle
from resolvers import ids
from schema.audit import AuditQuery, AuditSubscription
from schema.bulk import BulkMutation, BulkQuery, BulkSubscription
from schema.compiled import CompiledReads
from schema.compliance import ComplianceQuery
from schema.cost import QueryCost
from schema.documents import DocumentMutation
from schema.errors import ErrorShaper, ShapedSchema
from schema.lean import use_lean_resolvers
from schema.licenses import LicenseMutation, LicenseQuery
from schema.limits import MaxDirectivesLimiter, NulCharacterGuard
from schema.onboarding import OnboardingMutation, OnboardingQuery
from schema.permissions import EVERYONE
from schema.producers import ProducerMutation, ProducerQuery
from schema.quotes import QuoteMutation, QuoteQuery
from schema.scalars import SCALARS
from schema.telemetry import Telemetry
from schema.throttle import CallerBudget
from schema.webhooks import WebhookMutation, WebhookQuery


@strawberry.type(description="Read the producer graph.")
class Query(ProducerQuery, LicenseQuery, QuoteQuery, OnboardingQuery, BulkQuery, AuditQuery, WebhookQuery,
            ComplianceQuery):
    node: relay.Node | None = strawberry.field(
        resolver=ids.node, description="Any object by its global id; null when not visible. A bare locator is refused with "
        "INVALID_ID (it does not say which type it is): send the global id.",
        permission_classes=[EVERYONE])
    nodes: list[relay.Node | None] = strawberry.field(
        resolver=ids.nodes, description="Objects by global id, in order; null where not visible. A bare locator among them is "
        "refused in its own item: that item is null, with an INVALID_ID error at its path (`nodes.1`).",
        permission_classes=[EVERYONE])


@strawberry.type(description="Change the producer graph.")
class Mutation(ProducerMutation, LicenseMutation, QuoteMutation, OnboardingMutation, BulkMutation, DocumentMutation,
               WebhookMutation):
    pass


@strawberry.type(description="Follow changes live (graphql-transport-ws or the legacy graphql-ws).")
class Subscription(BulkSubscription, AuditSubscription):
    pass


def _rules_built_once(limiter: AddValidationRules) -> Any:
    """A per-request factory adding the limiter's validation rule classes, created once for the schema.

    `QueryDepthLimiter` and `MaxAliasesLimiter` create a new rule class in each instance; as per-request
    factories that made every request's rule tuple new, so `ValidationCache` (keyed on it) never hit and
    each request was validated in full.
    """
    return partial(AddValidationRules, list(limiter.validation_rules))


class RequestValidationCache(ValidationCache):
    """Strawberry's validation cache, handing each request its own list of the cached errors: the error
    shaping replaces a request's errors in place (with its request id), which must not reach the cache."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        errors = self.cached_validate_document(context.schema._schema, context.graphql_document,
                                               context.validation_rules)
        context.pre_execution_errors = list(errors)
        yield


def build_schema(settings: Settings | None = None, throttle: Throttle | None = None) -> strawberry.Schema:
    """The schema; with a `throttle`, every operation is charged to its caller's cost budget."""
    settings = settings or Settings()
    cost = (partial(QueryCost, limit=settings.max_query_cost, max_list_length=settings.max_list_length)
            if throttle is None else
            partial(CallerBudget, limit=settings.max_query_cost, max_list_length=settings.max_list_length,
                    throttle=throttle))
    extensions: list[Any] = [
        Telemetry,  # first: it sees the final, shaped errors
        ErrorShaper,
        # Factories, never shared instances: an extension holds per-request state (the caches live at module level).
        partial(ParserCache, maxsize=settings.parser_cache_size),
        partial(RequestValidationCache, maxsize=settings.parser_cache_size),
        _rules_built_once(QueryDepthLimiter(max_depth=settings.max_query_depth)),
        partial(MaxTokensLimiter, max_token_count=settings.max_query_tokens),
        _rules_built_once(MaxAliasesLimiter(max_alias_count=settings.max_aliases)),
        partial(MaxDirectivesLimiter, max_directives=settings.max_directives),  # after ValidationCache
        # factories: per-request state
        cost,
        NulCharacterGuard,
    ]
    if settings.production:
        extensions.append(DisableIntrospection)
    if settings.compiled_reads:
        extensions.append(CompiledReads)  # last: after the limits and the cost check
    schema = ShapedSchema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions,
                          config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALARS))
    schema.hide_suggestions = settings.production
    use_lean_resolvers(schema)
    return schema
