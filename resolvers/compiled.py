"""Compiled reads: a query the read path supports becomes one SQL statement that builds the response itself.

Field-by-field execution costs graphql-core and Strawberry a few microseconds per field, and a page of 100
producers has thousands of fields. For a query whose every field is known here, the selection is turned into
a `persistence.json_read` tree (scope, filters, page bounds and order as `app.queries.list_producers`) and
PostgreSQL returns the `data` object ready to send. Root fields: `producers` (forward pages, any filter),
`producer(id:)` and `node(id:)` naming a producer, `__typename`; below them producers, codes, licenses and
appointments with their relations, `children` and `descendants` included (forward pages). Anything else
(another root field, a field not mapped, a directive, an argument the resolvers would refuse, `last` /
`before` paging) returns None and the query runs through the resolvers as before, so the answer never
depends on which path ran; tests/api/test_compiled_reads.py compares the two.

A field is mapped only when it is a plain stored attribute of its record (no resolver, permission or field
extension), or when its resolver is the one this module knows the SQL equivalent of.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
import strawberry
from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
)
from graphql.execution.values import get_argument_values, get_directive_values, get_variable_values
from graphql.utilities import get_operation_ast
from strawberry import relay

from app import licenses as licenses_app
from app import queries
from app.auth import Principal
from app.errors import DomainError
from app.rules import lifecycle
from persistence import json_read as j
from persistence.base import utcnow
from resolvers import licenses as licenses_r
from resolvers import producers as producers_r
from resolvers.ids import LOCATOR
from resolvers.pagination import CURSOR_PREFIX, decode_cursor, page_request

RECORDS = {"Producer": "producers", "ProducerCode": "producer_codes", "License": "licenses",
           "Appointment": "appointments"}
PLAIN_SCALARS = frozenset({"String", "ID", "Int", "Boolean", "JSON", "Date"})
ROOTS = ("producers", "producer", "node", "licenses")


class Unsupported(Exception):
    """The operation (or one of its fields) has no compiled form: resolve it field by field."""


Groups = dict[str, list[FieldNode]]
Plan = tuple[tuple[tuple[str, Any], ...], dict[str, Any]]  # the document's fields, and the parameters


@dataclass(frozen=True)
class _Held:
    table: str


@dataclass(frozen=True)
class _Below:
    direct: bool


@dataclass(frozen=True)
class _Validation:
    column: str


def _is_validation_result(resolver: Any) -> bool:
    """The `validationResult` field of producers and codes (schema/producers.py: the stored result, shaped by
    schema.common.validation_result)."""
    return getattr(resolver, "__module__", None) == "schema.producers" and \
        getattr(resolver, "__name__", None) == "validation_result"


def _relations() -> dict[tuple[str, str], tuple[Any, Any]]:
    """(type, field) -> (the resolver it must have, what it is in SQL)."""
    return {
        ("Producer", "parent"): (producers_r.parent, lambda op, obj: j.ProducerVia("parent_id", obj)),
        ("Producer", "ancestors"): (producers_r.ancestors, lambda op, obj: j.Ancestors(obj)),
        ("Producer", "codes"): (producers_r.codes, _Held("producer_codes")),
        ("Producer", "children"): (producers_r.children, _Below(direct=True)),
        ("Producer", "descendants"): (producers_r.descendants, _Below(direct=False)),
        ("Producer", "licenses"): (licenses_r.producer_licenses, _Held("licenses")),
        ("Producer", "appointments"): (licenses_r.producer_appointments, _Held("appointments")),
        ("ProducerCode", "producer"): (producers_r.code_producer, lambda op, obj: j.ProducerVia("producer_id", obj)),
        ("License", "producer"): (licenses_r.credential_producer, lambda op, obj: j.ProducerVia("producer_id", obj)),
        ("Appointment", "producer"): (licenses_r.credential_producer,
                                      lambda op, obj: j.ProducerVia("producer_id", obj)),
    }


class Planner:
    """What each field of the compiled types is in SQL, worked out once per schema."""

    def __init__(self, schema: strawberry.Schema) -> None:
        self.schema = schema
        self.graphql: GraphQLSchema = schema._schema
        self.values: dict[str, dict[str, Any]] = {}  # type -> field -> json_read value (plain fields)
        self.relations: dict[str, dict[str, Any]] = {}  # type -> field -> builder or _Held
        relations = _relations()
        for type_name, table in RECORDS.items():
            definition = schema.get_type_by_name(type_name)
            graphql_type = self.graphql.get_type(type_name)
            assert isinstance(graphql_type, GraphQLObjectType) and definition is not None
            columns = set(j.TABLES[table].__table__.columns.keys())
            values: dict[str, Any] = {"id": j.Encoded(f"{type_name}:"), "locator": j.Column("id")}
            if type_name == "Producer":
                values["name"] = j.DisplayName()
            self.relations[type_name] = {}
            for field in definition.fields:  # type: ignore[union-attr]
                name = schema.config.name_converter.from_field(field)
                if field.permission_classes or field.extensions:
                    values.pop(name, None)
                    continue
                known = relations.get((type_name, name))
                if field.base_resolver is not None and field.base_resolver.wrapped_func is producers_r.allowed_actions:
                    values[name] = _allowed_actions(graphql_type.fields[name])
                elif field.base_resolver is not None and _is_validation_result(field.base_resolver.wrapped_func) \
                        and "validation_result" in columns:
                    self.relations[type_name][name] = _Validation("validation_result")
                elif known is not None and field.base_resolver is not None \
                        and field.base_resolver.wrapped_func is known[0]:
                    self.relations[type_name][name] = known[1]
                elif field.base_resolver is None and field.python_name in columns and name not in values:
                    value = _plain(field.python_name, graphql_type.fields[name])
                    if value is not None:
                        values[name] = value
            self.values[type_name] = values
        query = schema.get_type_by_name("Query")
        self.roots = {name: _roles(next(f for f in query.fields if f.python_name == name))  # type: ignore[union-attr]
                      for name in ROOTS}

    def plan(self, document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None,
             principal: Principal, max_page_size: int) -> Plan:
        """The document's `data` as a json_read tree and its parameters; Unsupported when it has no compiled form."""
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation != OperationType.QUERY or operation.directives:
            raise Unsupported("not a query")
        coerced = get_variable_values(self.graphql, operation.variable_definitions or (), variables or {})
        if isinstance(coerced, list):
            raise Unsupported("variables do not coerce")
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        planned = _Operation(self, operation, fragments, coerced, principal, max_page_size)
        return planned.root(), planned.params


def _roles(field: Any) -> frozenset[Any] | None:
    """The roles a root field admits, when its permissions are all role checks (else None: not compiled)."""
    from schema.permissions import RolePermission  # the API layer's own permission classes

    roles: frozenset[Any] | None = None
    for permission in field.permission_classes:
        if not (isinstance(permission, type) and issubclass(permission, RolePermission)):
            return None
        roles = permission.roles if roles is None else roles & permission.roles
    return roles


def _allowed_actions(field: GraphQLField) -> j.ByValue:
    """`allowedActions` as SQL: the list for each lifecycle state (app.rules.lifecycle), as the field serialises
    it (an enum's names, or the strings themselves)."""
    named = get_named_type(field.type)
    inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if not isinstance(inner, GraphQLList):
        raise TypeError("allowedActions is a list")

    def out(action: str) -> str:
        if isinstance(named, GraphQLEnumType):
            return next(name for name, v in named.values.items() if v.value == action or str(v.value) == action)
        return action

    lists = tuple((state, orjson.dumps([out(a) for a in lifecycle.allowed_actions(state)]).decode())
                  for state in lifecycle.STATES)
    return j.ByValue("state", lists, "[]")


def _plain(column: str, field: GraphQLField) -> Any:
    named = get_named_type(field.type)
    if isinstance(named, GraphQLEnumType):
        return j.Mapped(column, tuple((str(v.value), name) for name, v in named.values.items()))
    if named.name == "DateTime":
        return j.Timestamp(column)
    if named.name in PLAIN_SCALARS:
        return j.Column(column)
    return None


class _Operation:
    """One operation being planned: its fragments and coerced variables."""

    def __init__(self, planner: Planner, operation: OperationDefinitionNode,
                 fragments: dict[str, FragmentDefinitionNode], variables: Any,
                 principal: Principal, max_page_size: int) -> None:
        self.planner = planner
        self.graphql = planner.graphql
        self.operation = operation
        self.fragments = fragments
        self.variables = variables
        self.principal = principal
        self.max_page_size = max_page_size
        self.params: dict[str, Any] = {}

    def param(self, value: Any) -> j.Param:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return j.Param(name)

    # -- selections -------------------------------------------------------------------------------

    def collect(self, selection_sets: Iterable[SelectionSetNode | None], object_type: GraphQLObjectType) -> Groups:
        """Fields by response key, in order, merged across fragments (graphql-core's CollectFields)."""
        groups: Groups = {}
        for selection_set in selection_sets:
            self._collect(selection_set, object_type, groups, set())
        return groups

    def _collect(self, selection_set: SelectionSetNode | None, object_type: GraphQLObjectType, groups: Groups,
                 visited: set[str]) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if selection.directives and not self._included(selection.directives, selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                groups.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, object_type):
                    self._collect(selection.selection_set, object_type, groups, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition.name.value, object_type):
                    self._collect(fragment.selection_set, object_type, groups, visited)

    def _included(self, directives: Iterable[DirectiveNode], node: Any) -> bool:
        """`@include` and `@skip` decided here from the variables, as graphql-core decides them; any other
        directive has no compiled form."""
        for directive in directives:
            if directive.name.value not in ("include", "skip"):
                raise Unsupported(f"directive @{directive.name.value}")
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip is not None and skip["if"] is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include is not None and include["if"] is False)

    def _applies(self, condition: str, object_type: GraphQLObjectType) -> bool:
        target = self.graphql.get_type(condition)
        if target is object_type:
            return True
        return target is not None and is_abstract_type(target) and self.graphql.is_sub_type(target, object_type)  # type: ignore[arg-type]

    def _subfields(self, nodes: list[FieldNode], field: GraphQLField) -> tuple[GraphQLObjectType, Groups]:
        named = get_named_type(field.type)
        if not isinstance(named, GraphQLObjectType):
            raise Unsupported("not an object type")
        return named, self.collect((n.selection_set for n in nodes), named)

    def arguments(self, field: GraphQLField, node: FieldNode) -> dict[str, Any]:
        return get_argument_values(field, node, self.variables)

    # -- the tree ---------------------------------------------------------------------------------

    def root(self) -> tuple[tuple[str, Any], ...]:
        query = self.graphql.query_type
        assert query is not None
        parts: list[tuple[str, Any]] = []
        for key, nodes in self.collect([self.operation.selection_set], query).items():
            name = nodes[0].name.value
            if name == "__typename":
                parts.append((key, j.Constant(query.name)))
            elif name in ROOTS:
                self.permitted(name)
                if name == "producers":
                    parts.append((key, self.producers(query.fields[name], nodes)))
                elif name == "licenses":
                    parts.append((key, self.expiring(query.fields[name], nodes)))
                else:
                    parts.append((key, self.one_producer(name, query.fields[name], nodes)))
            else:
                raise Unsupported(f"root field {name}")
        return tuple(parts)

    def permitted(self, root_field: str) -> None:
        roles = self.planner.roots[root_field]
        if roles is None or not self.principal.has(*roles):
            raise Unsupported("not permitted: the resolver refuses it")

    def one_producer(self, name: str, field: GraphQLField, nodes: list[FieldNode]) -> j.ProducerById:
        """`producer(id:)` (a global id or locator) or `node(id:)` naming a producer."""
        raw = str(self.arguments(field, nodes[0])["id"])
        try:
            if name == "producer":
                locator = producers_r.producer_locator(raw)
            else:
                if LOCATOR.match(raw.strip()):
                    raise Unsupported("a bare locator: the resolver refuses it with INVALID_ID")
                gid = relay.GlobalID.from_id(raw)
                if gid.type_name != "Producer" or not LOCATOR.match(gid.node_id):
                    raise Unsupported("not a producer's id")
                locator = gid.node_id
        except (DomainError, ValueError, TypeError) as exc:  # malformed: the resolver answers null itself
            raise Unsupported("not a producer's id") from exc
        producer = self.graphql.get_type("Producer")
        assert isinstance(producer, GraphQLObjectType)
        groups = self.collect((n.selection_set for n in nodes), producer)
        return j.ProducerById(self.param(locator), self.obj(producer, groups))

    def expiring(self, field: GraphQLField, nodes: list[FieldNode]) -> j.ExpiringLicenses:
        """`licenses(expiringWithin:)`: forward pages within the bounds the service enforces, a window of the
        days it accepts (it refuses the others with an error the resolver reports); `now` as the service's."""
        args = self.arguments(field, nodes[0])
        if args.get("last") is not None or args.get("before") is not None:
            raise Unsupported("backward pages")
        days = args["expiring_within"] if "expiring_within" in args else args.get("expiringWithin")
        first = args.get("first")
        if first is None:
            first = min(queries.DEFAULT_PAGE_SIZE, self.max_page_size)
        if not (isinstance(days, int) and 0 <= days <= licenses_app.MAX_WINDOW_DAYS) \
                or not 0 <= first <= self.max_page_size:
            raise Unsupported("a window or page size the service refuses")
        try:
            after = decode_cursor(args.get("after"), "after")
        except DomainError as exc:
            raise Unsupported("the resolver answers this cursor itself") from exc
        now = utcnow()
        connection, groups = self._subfields(nodes, field)
        return j.ExpiringLicenses(self.param(now), self.param(now + timedelta(days=days)), self.param(first),
                                  None if after is None else self.param(after), self.page(connection, groups))

    def producers(self, field: GraphQLField, nodes: list[FieldNode]) -> queries.ProducerPageRead:
        args = self.arguments(field, nodes[0])
        if args.get("last") is not None or args.get("before") is not None:
            raise Unsupported("backward pages")
        try:
            flt = producers_r.producer_filter(args.get("filter"))
            page = page_request(args.get("first"), args.get("after"), None, None)
        except DomainError as exc:
            raise Unsupported("the resolver answers this argument itself") from exc
        connection, groups = self._subfields(nodes, field)
        return queries.ProducerPageRead(flt, page, self.page(connection, groups))

    def page(self, connection: GraphQLObjectType, groups: Groups) -> j.Page:
        parts: list[tuple[str, Any]] = []
        for key, nodes in groups.items():
            name = nodes[0].name.value
            field = connection.fields.get(name)
            if name == "__typename":
                parts.append((key, j.Constant(connection.name)))
            elif name == "totalCount":
                parts.append((key, j.TotalCount()))
            elif name == "nodes" and field is not None:
                parts.append((key, j.Nodes(self.obj(*self._subfields(nodes, field)))))
            elif name == "edges" and field is not None:
                parts.append((key, j.Edges(self.edge(*self._subfields(nodes, field)))))
            elif name == "pageInfo" and field is not None:
                parts.append((key, j.PageInfo(self.page_info(*self._subfields(nodes, field)))))
            else:
                raise Unsupported(f"connection field {name}")
        return j.Page(tuple(parts))

    def edge(self, edge: GraphQLObjectType, groups: Groups) -> tuple[tuple[str, Any], ...]:
        parts: list[tuple[str, Any]] = []
        for key, nodes in groups.items():
            name = nodes[0].name.value
            if name == "__typename":
                parts.append((key, j.Constant(edge.name)))
            elif name == "cursor":
                parts.append((key, j.Cursor(CURSOR_PREFIX)))
            elif name == "node":
                parts.append((key, self.obj(*self._subfields(nodes, edge.fields[name]))))
            else:
                raise Unsupported(f"edge field {name}")
        return tuple(parts)

    def page_info(self, info: GraphQLObjectType, groups: Groups) -> tuple[tuple[str, Any], ...]:
        known = {"hasNextPage": j.HasNext(), "hasPreviousPage": j.HasPrevious(),
                 "startCursor": j.EdgeCursor(CURSOR_PREFIX, last=False),
                 "endCursor": j.EdgeCursor(CURSOR_PREFIX, last=True), "__typename": j.Constant(info.name)}
        parts: list[tuple[str, Any]] = []
        for key, nodes in groups.items():
            name = nodes[0].name.value
            if name not in known:
                raise Unsupported(f"page info field {name}")
            parts.append((key, known[name]))
        return tuple(parts)

    def obj(self, object_type: GraphQLObjectType, groups: Groups) -> j.Obj:
        type_name = object_type.name
        if type_name not in RECORDS:
            raise Unsupported(f"type {type_name}")
        values = self.planner.values[type_name]
        relations = self.planner.relations[type_name]
        fields: list[tuple[str, Any]] = []
        for key, nodes in groups.items():
            name = nodes[0].name.value
            if name == "__typename":
                fields.append((key, j.Constant(type_name)))
            elif name in values:
                fields.append((key, values[name]))
            elif name in relations:
                fields.append((key, self.relation(relations[name], object_type.fields[name], nodes)))
            else:
                raise Unsupported(f"field {type_name}.{name}")
        return j.Obj(RECORDS[type_name], tuple(fields))

    def relation(self, known: Any, field: GraphQLField, nodes: list[FieldNode]) -> Any:
        target, groups = self._subfields(nodes, field)
        if isinstance(known, _Held):
            args = self.arguments(field, nodes[0])
            try:
                after = decode_cursor(args.get("after"), "after")
            except DomainError as exc:
                raise Unsupported("the resolver answers this cursor itself") from exc
            first = args.get("first")
            return j.Held(known.table, None if first is None else self.param(max(first, 0)),
                          None if after is None else self.param(after), self.page(target, groups))
        if isinstance(known, _Below):
            return self.below(known, field, nodes, target, groups)
        if isinstance(known, _Validation):
            return self.validation(known, target, groups)
        if field.args:
            raise Unsupported("arguments")
        return known(self, self.obj(target, groups))

    def validation(self, known: _Validation, result: GraphQLObjectType, groups: Groups) -> j.Validation:
        """`validationResult { valid at items { code message field } }`, from the stored result."""
        parts: list[tuple[str, Any]] = []
        for key, nodes in groups.items():
            name = nodes[0].name.value
            if name == "__typename":
                parts.append((key, j.Constant(result.name)))
            elif name in ("valid", "at"):
                parts.append((key, name))
            elif name == "items":
                item_type, item_groups = self._subfields(nodes, result.fields[name])
                items: list[tuple[str, Any]] = []
                for item_key, item_nodes in item_groups.items():
                    item_name = item_nodes[0].name.value
                    if item_name == "__typename":
                        items.append((item_key, j.Constant(item_type.name)))
                    elif item_name in ("code", "message", "field"):
                        items.append((item_key, item_name))
                    else:
                        raise Unsupported(f"validation item field {item_name}")
                parts.append((key, j.ValidationItems(tuple(items))))
            else:
                raise Unsupported(f"validation result field {name}")
        return j.Validation(known.column, tuple(parts))

    def below(self, known: _Below, field: GraphQLField, nodes: list[FieldNode], target: GraphQLObjectType,
              groups: Groups) -> j.Below:
        """`children` or `descendants`, forward pages within the bounds the service enforces (it refuses the
        others with an error the resolver reports)."""
        args = self.arguments(field, nodes[0])
        if args.get("last") is not None or args.get("before") is not None:
            raise Unsupported("backward pages")
        first = args.get("first")
        if first is None:
            first = queries.DEFAULT_PAGE_SIZE
        if not 0 <= first <= self.max_page_size:
            raise Unsupported("a page size the service refuses")
        try:
            after = decode_cursor(args.get("after"), "after")
        except DomainError as exc:
            raise Unsupported("the resolver answers this cursor itself") from exc
        return j.Below(known.direct, self.param(first), None if after is None else self.param(after),
                       self.page(target, groups))


async def read(service: Any, plan: Plan) -> str | None:
    """The JSON text of a planned document; None when the statement cannot express it or the service refuses
    a page size (the resolvers answer both, the latter with its error)."""
    try:
        return await queries.read_producer_document(service, *plan)
    except (j.Unbuildable, DomainError):
        return None


def plan_read(planner: Planner, document: DocumentNode, operation_name: str | None,
              variables: dict[str, Any] | None, principal: Principal, max_page_size: int) -> Plan | None:
    """The compiled form of the operation, or None when it runs through the resolvers."""
    try:
        return planner.plan(document, operation_name, variables, principal, max_page_size)
    except (Unsupported, j.Unbuildable):
        return None
