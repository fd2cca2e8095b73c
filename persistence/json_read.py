"""A read described as a tree of values, turned into one SQL statement that builds the JSON document itself.

The shapes here know tables and columns, never GraphQL: the API layer describes what a response holds
(`Obj`, `Page`, the values in them) and PostgreSQL assembles it with `json_build_object` / `json_agg`, the way
PostGraphile does. Every producer reached through a relation (a parent, ancestors, the producer of a code or
credential) is filtered by the caller's `Scope`, as the dataloaders filter it; lists of codes, licenses and
appointments hang off producers already in scope and are filtered by tenant, as their loaders are.
`json` (not `jsonb`) keeps the keys in the order they were asked for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    Integer,
    Numeric,
    Text,
    any_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import TIMESTAMP, aggregate_order_by, array
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import col

from persistence.db import database_unavailable
from persistence.licenses import AppointmentRecord, LicenseRecord
from persistence.producers import ProducerCodeRecord, ProducerRecord, Scope

TABLES: dict[str, Any] = {"producers": ProducerRecord, "producer_codes": ProducerCodeRecord,
                          "licenses": LicenseRecord, "appointments": AppointmentRecord}
_KEY = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
_MAX_KEYS = 50  # json_build_object takes at most 100 arguments
_TIME = "'YYYY-MM-DD\"T\"HH24:MI:SS'"
_TIME_FRACTION = "'YYYY-MM-DD\"T\"HH24:MI:SS.US'"


class Unbuildable(ValueError):
    """The tree asks for something this builder cannot express (too many keys, a key that is not a name)."""


# ---- values ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Column:
    """A column as stored (text, numbers, booleans, text arrays, jsonb)."""

    name: str


@dataclass(frozen=True, slots=True)
class Constant:
    value: str


@dataclass(frozen=True, slots=True)
class Encoded:
    """Standard base64 of `prefix || column` (URL-safe alphabet when `urlsafe`), with padding."""

    prefix: str
    column: str = "id"
    urlsafe: bool = False


@dataclass(frozen=True, slots=True)
class Mapped:
    """A stored value replaced by its name (`names` maps value -> name; others become null)."""

    column: str
    names: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Timestamp:
    """ISO 8601 in UTC as Python's `isoformat()` writes it: microseconds only when not zero, `+00:00`."""

    column: str


@dataclass(frozen=True, slots=True)
class ByValue:
    """A JSON value chosen by the stored value of `column`: `values` maps value -> JSON text; `default`
    (JSON text) for any other."""

    column: str
    values: tuple[tuple[str, str], ...]
    default: str


@dataclass(frozen=True, slots=True)
class Validation:
    """The validation result stored (jsonb) in `column`, as an object; null when none is stored (null or `{}`).
    `fields` maps keys to "valid" (its truth, as Python's `bool`), "at" (the stored time: as written when it is
    ISO 8601 as Python writes it, else in UTC; a stored offset other than UTC is not kept), `ValidationItems`, or a `Constant`."""

    column: str
    fields: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class ValidationItems:
    """The stored result's `items`, in order: `fields` maps keys to "code" or "message" (text, "" when missing),
    "field" (text or null), or a `Constant`."""

    fields: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class DisplayName:
    """The organization name, else first and last name, else the locator."""


@dataclass(frozen=True, slots=True)
class Obj:
    """One row of `table` as a JSON object with these keys, in order."""

    table: str
    fields: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class ProducerVia:
    """The producer whose id is in `column` (null when the caller cannot see it)."""

    column: str
    obj: Obj


@dataclass(frozen=True, slots=True)
class ProducerById:
    """The producer whose id is the parameter `id` (null when the caller cannot see it)."""

    id: Param
    obj: Obj


@dataclass(frozen=True, slots=True)
class Ancestors:
    """The producers of this producer's ancestry that the caller can see, root first."""

    obj: Obj


@dataclass(frozen=True, slots=True)
class Param:
    """A value given when the statement runs, under `name` (a statement is built once per shape and cached)."""

    name: str


@dataclass(frozen=True, slots=True)
class Held:
    """A page of the rows of `table` that this producer holds, by id: `first` of them (zero or more; all when
    None) after the id `after` (from the start when None)."""

    table: str
    first: Param | None
    after: Param | None
    page: Page


@dataclass(frozen=True, slots=True)
class ScopePage:
    """A page of the producers in the caller's scope, by id: `first` of them after the id `after` (from the
    start when None); its total counts every producer in scope. The root page of an unfiltered list, so that
    the page, its bounds and its total come in the document's one statement."""

    first: Param
    after: Param | None
    page: Page


@dataclass(frozen=True, slots=True)
class ExpiringLicenses:
    """A page of the licenses in scope (their producer in scope), draft or validated, expiring from `now` to
    before `until` (timestamps), by id: `first` of them after the id `after`; its total counts them all."""

    now: Param
    until: Param
    first: Param
    after: Param | None
    page: Page


@dataclass(frozen=True, slots=True)
class Below:
    """A page of the producers in scope below this producer, by id: its children (`direct`) or all its
    descendants, `first` of them after the id `after` (from the start when None)."""

    direct: bool
    first: Param
    after: Param | None
    page: Page


# ---- pages -------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Nodes:
    obj: Obj


@dataclass(frozen=True, slots=True)
class Edges:
    """Each row as an object of `Cursor`, the row (`Obj`) and constants."""

    fields: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Cursor:
    prefix: str


@dataclass(frozen=True, slots=True)
class PageInfo:
    fields: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class HasNext:
    pass


@dataclass(frozen=True, slots=True)
class HasPrevious:
    pass


@dataclass(frozen=True, slots=True)
class EdgeCursor:
    """The cursor of the first (`last=False`) or last row of the page; null when the page is empty."""

    prefix: str
    last: bool


@dataclass(frozen=True, slots=True)
class TotalCount:
    pass


@dataclass(frozen=True, slots=True)
class Page:
    """A page of rows: `Nodes`, `Edges`, `PageInfo`, `TotalCount` and constants under their keys."""

    fields: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class RootPage:
    """A page of producers already chosen (and scope-checked) by the caller: the parameters `<key>__ids`
    (the ids, in order), `<key>__next` and `<key>__previous` (booleans) and, when the page asks for
    `TotalCount`, `<key>__total`."""

    page: Page


# ---- building ----------------------------------------------------------------------------------------

def _text(value: str) -> ColumnElement[Any]:
    return literal_column("'" + value.replace("'", "''") + "'", Text)


_EMPTY: ColumnElement[Any] = literal_column("'[]'::json")


_ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?[+-]\d\d:\d\d$"  # datetime.isoformat() with an offset


def _iso_utc(moment: Any) -> ColumnElement[Any]:
    """A timestamptz as Python's `isoformat()` writes it in UTC: microseconds only when not zero, `+00:00`."""
    utc = func.timezone(_text("UTC"), moment)
    return case((func.to_char(utc, _text("US")) == _text("000000"), func.to_char(utc, literal_column(_TIME))),
                else_=func.to_char(utc, literal_column(_TIME_FRACTION))).op("||")(_text("+00:00"))


def _truth(value: Any) -> ColumnElement[Any]:
    """Python's `bool` of a jsonb value (false when missing)."""
    text = value.op("#>>")(literal_column("'{}'"))
    kind = func.jsonb_typeof(value)
    return case((kind == _text("boolean"), cast(text, Boolean)),
                (kind == _text("number"), cast(text, Numeric) != literal_column("0")),
                (kind == _text("string"), text != _text("")),
                (kind == _text("array"), func.jsonb_array_length(value) > literal_column("0")),
                (kind == _text("object"), value != literal_column("'{}'::jsonb")),
                else_=_FALSE)


def _json(text: str) -> ColumnElement[Any]:
    return literal_column("'" + text.replace("'", "''") + "'::json")
_TRUE: ColumnElement[Any] = literal_column("true", Boolean)
_FALSE: ColumnElement[Any] = literal_column("false", Boolean)


def _json_object(pairs: Iterable[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
    """`json_build_object` of (key, value) pairs, keys checked to be names (they are written into the SQL)."""
    args: list[Any] = []
    for key, value in pairs:
        if not _KEY.match(key):
            raise Unbuildable(f"{key!r} is not a name")
        args += [_text(key), value]
    if len(args) > 2 * _MAX_KEYS:
        raise Unbuildable(f"more than {_MAX_KEYS} keys in one object")
    return func.json_build_object(*args)


@dataclass
class _PageRows:
    """What a page is built from: the page's rows as an entity, and the expressions around them."""

    rows: Any
    has_next: ColumnElement[Any]
    has_previous: ColumnElement[Any]
    total: ColumnElement[Any] | None


class _Builder:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.count = 0

    def alias(self, model: Any, selectable: Any = None) -> Any:
        self.count += 1
        return aliased(model, selectable, name=f"r{self.count}")

    def object(self, fields: tuple[tuple[str, Any], ...], row: Any) -> ColumnElement[Any]:
        return _json_object((key, self.value(value, row)) for key, value in fields)

    def value(self, value: Any, row: Any) -> ColumnElement[Any]:  # noqa: PLR0911 - one branch per kind
        match value:
            case Column(name):
                return getattr(row, name)  # type: ignore[no-any-return]
            case Constant(text):
                return _text(text)
            case Encoded(prefix, column, urlsafe):
                encoded = func.encode(func.convert_to(_text(prefix).op("||")(getattr(row, column)), _text("UTF8")),
                                      _text("base64"))
                return func.translate(encoded, _text("+/\n"), _text("-_")) if urlsafe else func.replace(
                    encoded, literal_column("E'\\n'"), _text(""))
            case Mapped(column, names):
                return case(*((getattr(row, column) == _text(v), _text(n)) for v, n in names), else_=None)
            case Validation():
                return self.validation(value, getattr(row, value.column))
            case ByValue(column, choices, default):
                return case(*((getattr(row, column) == _text(v), _json(text)) for v, text in choices),
                            else_=_json(default))
            case Timestamp(column):
                return _iso_utc(getattr(row, column))
            case DisplayName():
                person = func.nullif(func.concat_ws(_text(" "), func.nullif(row.first_name, _text("")),
                                                    func.nullif(row.last_name, _text(""))), _text(""))
                return func.coalesce(func.nullif(row.organization_name, _text("")), person, row.id)
            case ProducerVia(column, obj):
                return self.producer(getattr(row, column), obj)
            case ProducerById(param, obj):
                return self.producer(bindparam(param.name, type_=Text), obj)
            case Ancestors(obj):
                other = self.alias(ProducerRecord)
                ordered = aggregate_order_by(self.object(obj.fields, other), func.array_position(row.ancestry, other.id))
                return (select(func.coalesce(func.json_agg(ordered), _EMPTY))
                        .where(other.id == any_(row.ancestry), self.scope.producers_clause(other))
                        .scalar_subquery())
            case Held():
                return self.held(value, row)
            case Below():
                return self.below(value, row)
            case ExpiringLicenses():
                return self.expiring(value)
            case ScopePage(first, after, page):
                return self.related_page(ProducerRecord, lambda table: [self.scope.producers_clause(table)],
                                         first, after, page)
        raise Unbuildable(f"unknown value {type(value).__name__}")

    def validation(self, validation: Validation, stored: Any) -> ColumnElement[Any]:
        def part(value: Any) -> ColumnElement[Any]:
            match value:
                case "valid":
                    return _truth(stored.op("->")(_text("valid")))
                case "at":
                    at = stored.op("->>")(_text("at"))
                    return case((or_(at.is_(None), at == _text("")), null()), (at.op("~")(_text(_ISO)), at),
                                else_=_iso_utc(cast(at, TIMESTAMP(timezone=True))))
                case ValidationItems(fields):
                    return self.validation_items(fields, stored)
                case Constant(text):
                    return _text(text)
            raise Unbuildable(f"unknown validation part {value!r}")

        empty = or_(stored.is_(None), stored == literal_column("'null'::jsonb"), stored == literal_column("'{}'::jsonb"))
        return case((empty, null()), else_=_json_object((key, part(value)) for key, value in validation.fields))

    def validation_items(self, fields: tuple[tuple[str, Any], ...], stored: Any) -> ColumnElement[Any]:
        self.count += 1
        items = func.jsonb_array_elements(func.coalesce(stored.op("->")(_text("items")),
                                                        literal_column("'[]'::jsonb"))).table_valued(
            "value", with_ordinality="n").render_derived(name=(name := f"r{self.count}"))

        def part(value: Any) -> ColumnElement[Any]:
            match value:
                case "code" | "message":
                    return func.coalesce(items.c.value.op("->>")(_text(value)), _text(""))
                case "field":  # the path as a list of strings, as schema.common.field_path splits it
                    return literal_column(
                        f"(CASE WHEN jsonb_typeof({name}.value->'field') = 'array' THEN ({name}.value->'field')::json "
                        f"ELSE (SELECT json_agg(p.part ORDER BY p.n) FROM regexp_split_to_table({name}.value->>'field', "
                        f"'[.\\[\\]]+') WITH ORDINALITY AS p(part, n) WHERE p.part <> '') END)")
                case Constant(text):
                    return _text(text)
            raise Unbuildable(f"unknown validation item part {value!r}")

        ordered = aggregate_order_by(_json_object((key, part(value)) for key, value in fields), items.c.n)
        return select(func.coalesce(func.json_agg(ordered), _EMPTY)).select_from(items).scalar_subquery()

    def expiring(self, expiring: ExpiringLicenses) -> ColumnElement[Any]:
        def window(table: Any) -> list[ColumnElement[Any]]:
            clauses = [table.tenant_id == self.scope.tenant_id, table.expiration_time.is_not(None),
                       table.expiration_time >= bindparam(expiring.now.name, type_=TIMESTAMP(timezone=True)),
                       table.expiration_time < bindparam(expiring.until.name, type_=TIMESTAMP(timezone=True)),
                       or_(table.state == _text("draft"), table.state == _text("validated"))]
            if self.scope.root is not None:  # as persistence.licenses.in_scope: the producer in scope
                owner = self.alias(ProducerRecord)
                clauses.append(exists().where(owner.id == table.producer_id, self.scope.producers_clause(owner)))
            return clauses

        return self.related_page(LicenseRecord, window, expiring.first, expiring.after, expiring.page)

    def producer(self, producer_id: ColumnElement[Any], obj: Obj) -> ColumnElement[Any]:
        other = self.alias(ProducerRecord)
        return (select(self.object(obj.fields, other))
                .where(other.id == producer_id, self.scope.producers_clause(other)).scalar_subquery())

    def held(self, held: Held, owner: Any) -> ColumnElement[Any]:
        return self.related_page(TABLES[held.table], lambda table: [
            table.producer_id == owner.id, table.tenant_id == self.scope.tenant_id], held.first, held.after, held.page)

    def below(self, below: Below, owner: Any) -> ColumnElement[Any]:
        def under(table: Any) -> list[ColumnElement[Any]]:
            related = (table.parent_id == owner.id if below.direct
                       else table.ancestry.contains(cast(array([owner.id]), ARRAY(Text))))
            return [related, self.scope.producers_clause(table)]

        return self.related_page(ProducerRecord, under, below.first, below.after, below.page)

    def related_page(self, model: Any, related: Callable[[Any], list[ColumnElement[Any]]], first: Param | None,
                     after: Param | None, page: Page) -> ColumnElement[Any]:
        """A page of the rows of `model` related to the owner's row, by id: `first` after `after` (all rows
        from the start when None); its total counts them all, whatever `after`."""
        def items(table: Any) -> list[ColumnElement[Any]]:
            return related(table) + ([table.id > bindparam(after.name, type_=Text)] if after is not None else [])

        table = self.alias(model)
        stmt = select(table).where(*items(table)).order_by(table.id).correlate_except(table)
        size = None if first is None else bindparam(first.name, type_=Integer)
        if size is not None:
            stmt = stmt.limit(size)
        rows = self.alias(model, stmt.subquery())  # a sub-select of the owner's row: correlated, not lateral
        has_next: ColumnElement[Any] = _FALSE
        if size is not None:  # one row past the page is enough to know
            more = self.alias(model)
            beyond = select(more.id).where(*items(more)).order_by(more.id).limit(size + 1).correlate_except(more)
            has_next = select(func.count()).select_from(beyond.subquery()).scalar_subquery() > size
        every = self.alias(model)
        total = select(func.count()).select_from(every).where(*related(every)).scalar_subquery()
        return self.page(page, _PageRows(rows, has_next, _FALSE if after is None else _TRUE, total))

    def page(self, page: Page, source: _PageRows) -> ColumnElement[Any]:
        return _json_object((key, self.page_part(part, source)) for key, part in page.fields)

    def page_part(self, part: Any, source: _PageRows) -> ColumnElement[Any]:  # noqa: PLR0911
        rows = source.rows
        match part:
            case Nodes(obj):
                ordered = aggregate_order_by(self.object(obj.fields, rows), rows.id)
                return select(func.coalesce(func.json_agg(ordered), _EMPTY)).select_from(rows).scalar_subquery()
            case Edges(fields):
                ordered = aggregate_order_by(self.edge(fields, rows), rows.id)
                return select(func.coalesce(func.json_agg(ordered), _EMPTY)).select_from(rows).scalar_subquery()
            case PageInfo(fields):
                return _json_object((key, self.info_part(item, source)) for key, item in fields)
            case TotalCount():
                if source.total is None:
                    raise Unbuildable("no total for this page")
                return source.total
            case Constant(text):
                return _text(text)
        raise Unbuildable(f"unknown page part {type(part).__name__}")

    def edge(self, fields: tuple[tuple[str, Any], ...], row: Any) -> ColumnElement[Any]:
        """An edge: its cursor, the row itself as the node (`Obj`), constants."""
        return _json_object((key, self.edge_part(value, row)) for key, value in fields)

    def edge_part(self, value: Any, row: Any) -> ColumnElement[Any]:
        match value:
            case Cursor(prefix):
                return self.value(Encoded(prefix, "id", urlsafe=True), row)
            case Obj(_, fields):
                return self.object(fields, row)
        return self.value(value, row)

    def info_part(self, item: Any, source: _PageRows) -> ColumnElement[Any]:
        match item:
            case HasNext():
                return source.has_next
            case HasPrevious():
                return source.has_previous
            case EdgeCursor(prefix, last):
                rows = source.rows
                cursor = self.value(Encoded(prefix, "id", urlsafe=True), rows)
                order = rows.id.desc() if last else rows.id
                return select(cursor).select_from(rows).order_by(order).limit(1).scalar_subquery()
            case Constant(text):
                return _text(text)
        raise Unbuildable(f"unknown page info part {type(item).__name__}")

    def root(self, key: str, root: RootPage) -> ColumnElement[Any]:
        ids = select(ProducerRecord).where(col(ProducerRecord.id) == any_(bindparam(f"{key}__ids", type_=ARRAY(Text))))
        rows = self.alias(ProducerRecord, ids.subquery())
        total = (bindparam(f"{key}__total", type_=Integer)
                 if wants_total(root.page) else None)
        return self.page(root.page, _PageRows(rows, bindparam(f"{key}__next", type_=Boolean),
                                              bindparam(f"{key}__previous", type_=Boolean), total))


def wants_total(page: Page) -> bool:
    return any(isinstance(part, TotalCount) for _, part in page.fields)


_statements: dict[tuple[Any, ...], Select[Any]] = {}


def document_statement(scope_shape: tuple[bool, bool], fields: tuple[tuple[str, Any], ...],
                       max_shapes: int = 64) -> Select[Any]:
    """One statement whose single text value is the JSON object of `fields` (root pages and constants), for
    a scope of this shape (narrowed to a root, only the root): built once per shape, run with parameters.

    At most `max_shapes` shapes are kept per process, never evicted: each is a prepared statement on every
    pooled connection that runs it (~0.2 MB of PostgreSQL memory for a page of producers with relations,
    ~1 MB for the widest selections), so clients inventing shapes cannot grow that without bound. Beyond it,
    a new shape raises Unbuildable (and is resolved field by field).
    """
    key = (scope_shape, fields)
    stmt = _statements.get(key)
    if stmt is None:
        if len(_statements) >= max_shapes:
            raise Unbuildable(f"{max_shapes} query shapes are compiled already")
        stmt = _statements[key] = _build_statement(scope_shape, fields)
    return stmt


def _build_statement(scope_shape: tuple[bool, bool], fields: tuple[tuple[str, Any], ...]) -> Select[Any]:
    narrowed, only_root = scope_shape
    scope = Scope(bindparam("scope_tenant", type_=Text),  # type: ignore[arg-type]
                  bindparam("scope_root", type_=Text) if narrowed else None, only_root)  # type: ignore[arg-type]
    builder = _Builder(scope)
    document = _json_object((key, builder.root(key, value) if isinstance(value, RootPage)
                             else builder.value(value, None)) for key, value in fields)
    return select(cast(document, Text))


async def read_document(session: AsyncSession, scope: Scope, fields: tuple[tuple[str, Any], ...],
                        parameters: dict[str, Any], max_shapes: int = 64) -> str:
    """The JSON text of `fields`, read in one statement, with the `Param` and `RootPage` values given."""
    stmt = document_statement((scope.root is not None, scope.only_root), fields, max_shapes)
    values = {**parameters, "scope_tenant": scope.tenant_id, "scope_root": scope.root}
    connection = await session.connection()
    sql, names, defaults = _sql(stmt, connection.dialect)
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    try:
        return str(await driver.fetchval(sql, *(values[n] if n in values else defaults[n] for n in names)))
    except Exception as exc:
        if database_unavailable(exc):  # as SQLAlchemy would: the pool replaces this connection and older ones
            await connection.invalidate(exc)
        raise


_texts: dict[int, tuple[Select[Any], str, tuple[str, ...], dict[str, Any]]] = {}


def _sql(stmt: Select[Any], dialect: Any) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """The statement's SQL for the driver, its parameter names in order and the values it carries itself:
    compiled once per shape, then sent by asyncpg directly (its own prepared-statement cache), without
    SQLAlchemy's per-execution work (ORM context, parameter processing, result wrapping) for one text value."""
    hit = _texts.get(id(stmt))
    if hit is None or hit[0] is not stmt:
        compiled = stmt.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise Unbuildable("a statement with expanding parameters")
        hit = _texts[id(stmt)] = (stmt, compiled.string, names, dict(compiled.params))
    return hit[1], hit[2], hit[3]


__all__ = ["TABLES", "Ancestors", "Below", "ByValue", "Column", "Constant", "Cursor", "DisplayName", "EdgeCursor", "Edges", "Encoded", "ExpiringLicenses",
           "HasNext", "HasPrevious", "Held", "Mapped", "Nodes", "Obj", "Page", "PageInfo", "Param", "ProducerById", "ProducerVia",
           "RootPage", "ScopePage", "Timestamp", "Validation", "ValidationItems", "TotalCount", "Unbuildable", "document_statement", "read_document", "wants_total"]
