"""Per-tenant configuration: the `producerManagement` object, products, jurisdictions and plugins.

Parsed with pydantic and cross-checked at load (unknown or cyclic `extend`, bad data fields, unknown
numbering plans or lines of authority), so a bad configuration is refused before it is used.
The packaged `defaults/jurisdictions.json` carries example license fees, to be maintained per tenant.
"""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from os import PathLike
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from app.rules.data import DataValueError, coerce_value, show_value
from app.rules.numbering import max_core_number, validate_format

Category = Literal["producers", "producerCodes", "producerLicenses", "producerAppointments"]
CATEGORIES: tuple[Category, ...] = ("producers", "producerCodes", "producerLicenses", "producerAppointments")
DataFieldType = Literal["string", "text", "int", "decimal", "boolean", "date", "datetime", "email", "enum", "media"]
ProducerKind = Literal["individual", "organization"]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_JURISDICTION_CODE = re.compile(r"[A-Z]{2}")
_DOTTED_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
_SEARCHABLE_BY_DEFAULT = ("string", "text", "email")
_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
DEFAULT_MEDIA_TYPES = ("application/pdf", "image/png", "image/jpeg")
_MEDIA_ONLY = {"many": "list", "contentTypes": "contentTypes", "maxBytes": "maxBytes",
               "expirationField": "expirationField"}


class ConfigError(Exception):
    """A tenant configuration was refused; `errors` lists every "path: problem" found."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


class _Model(BaseModel):
    """Base for configuration models: unknown keys are errors, loaded configs are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DataField(_Model):
    """One extension data field: its type, whether required, enum values and default.

    A `media` field holds documents (one, or several with `list`): the content types allowed (decided from the
    bytes), the largest size, and optionally the date field of the same type that holds its expiration."""

    type: DataFieldType
    required: StrictBool = False
    values: list[str] | None = None
    default: Any = None
    searchable: StrictBool | None = None
    description: str | None = None
    many: StrictBool | None = Field(default=None, alias="list")  # "list" in the JSON; not a builtin's name here
    contentTypes: list[str] | None = None
    maxBytes: StrictInt | None = Field(default=None, ge=1)
    expirationField: str | None = None

    @property
    def allowed_content_types(self) -> tuple[str, ...]:
        """The content types a media field accepts (PDF, PNG and JPEG unless configured)."""
        return tuple(self.contentTypes) if self.contentTypes else DEFAULT_MEDIA_TYPES

    @model_validator(mode="after")
    def _check_media(self) -> DataField:
        if self.type != "media":
            given = [key for attr, key in _MEDIA_ONLY.items() if getattr(self, attr) is not None]
            if given:
                raise ValueError(f'{", ".join(given)} only apply to media fields, not to a {self.type} field')
            return self
        if self.default is not None or self.searchable:
            raise ValueError("a media field has no default and is not searchable: documents are attached with "
                             "attachDocument")
        if self.contentTypes is not None:
            bad = [t for t in self.contentTypes if not _MIME_TYPE.fullmatch(t)]
            if bad or not self.contentTypes:
                raise ValueError('"contentTypes" must list MIME types such as "application/pdf"; got '
                                 f'{", ".join(bad) or "an empty list"}')
        return self

    @model_validator(mode="after")
    def _check_values_and_default(self) -> DataField:
        if self.type == "enum":
            if not self.values:
                raise ValueError('an enum field needs a non-empty "values" list')
            duplicates = sorted({v for v in self.values if self.values.count(v) > 1})
            if duplicates:
                raise ValueError(f"enum values must be unique; repeated: {', '.join(duplicates)}")
        elif self.values is not None:
            raise ValueError(f'"values" is only allowed on enum fields, not on a {self.type} field')
        if self.default is not None:
            try:
                coerce_value(self.type, self.default, self.values)
            except DataValueError as exc:
                raise ValueError(f"default {show_value('default', self.default)} is not valid: "
                                 f"expected {exc.expects}") from None
        return self


class EntityType(_Model):
    """A named type of producer license or appointment (and the base of producer/code types)."""

    abstract: StrictBool = False
    extend: str | None = None
    data: dict[str, DataField] = Field(default_factory=dict)
    defaultSearchable: StrictBool = False
    description: str | None = None


class ProducerType(EntityType):
    """A producer type; `kind` is inherited through `extend` when unset."""

    kind: ProducerKind | None = None


class ProducerCodeType(EntityType):
    """A producer code type; the numbering plan and string are inherited through `extend`."""

    numberingPlan: str | None = None
    numberingString: str | None = None


class NumberingPlan(_Model):
    """How codes are generated: a format with `#` digits, the first core number, and when."""

    format: str
    initialCoreNumber: StrictInt = Field(default=1, ge=0)
    trigger: Literal["creation", "validation"] = "creation"

    @field_validator("format")
    @classmethod
    def _check_format(cls, value: str) -> str:
        validate_format(value)
        return value

    @model_validator(mode="after")
    def _check_initial_fits(self) -> NumberingPlan:
        largest = max_core_number(self.format)
        if self.initialCoreNumber > largest:
            raise ValueError(f'initialCoreNumber {self.initialCoreNumber} does not fit in format '
                             f'"{self.format}" (at most {largest})')
        return self


class UnderwritingFlagConfig(_Model):
    """The flag added when a producer is not qualified; absent config means level `info`."""

    level: Literal["none", "info", "block", "decline", "reject"] = "info"
    tag: str = "Invalid Producer Qualification"
    note: str | None = None


class ProducerManagement(_Model):
    """The seed's `producerManagement` object: the named types, numbering plans and flag."""

    producers: dict[str, ProducerType]
    producerCodes: dict[str, ProducerCodeType]
    producerLicenses: dict[str, EntityType] = Field(default_factory=dict)
    producerAppointments: dict[str, EntityType] = Field(default_factory=dict)
    numberingPlans: dict[str, NumberingPlan] = Field(default_factory=dict)
    underwritingFlag: UnderwritingFlagConfig = Field(default_factory=UnderwritingFlagConfig)


class ProductConfig(_Model):
    """What a product requires of the producer on its quotes and policies."""

    producerQualification: Literal["none", "license", "appointment"] = "none"
    requiredLinesOfAuthority: list[str] = Field(default_factory=list)


class LineOfAuthority(_Model):
    """A line of authority in a jurisdiction, with its license fee."""

    fee: Decimal = Field(ge=0, decimal_places=2)
    description: str | None = None


class Jurisdiction(_Model):
    """A state, district or territory with the lines of authority it licenses."""

    name: str
    kind: Literal["state", "district", "territory"]
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    linesOfAuthority: dict[str, LineOfAuthority]

    @field_validator("linesOfAuthority")
    @classmethod
    def _check_not_empty(cls, value: dict[str, LineOfAuthority]) -> dict[str, LineOfAuthority]:
        if not value:
            raise ValueError("a jurisdiction needs at least one line of authority")
        return value


class PluginsConfig(_Model):
    """Dotted paths ("package.module.ClassName") of the precommit and validation plugin classes."""

    precommit: str | None = None
    validation: str | None = None

    @field_validator("precommit", "validation")
    @classmethod
    def _check_dotted_path(cls, value: str | None) -> str | None:
        if value is not None and not _DOTTED_PATH.fullmatch(value):
            raise ValueError(f'must be a dotted path like "package.module.ClassName"; got "{value}"')
        return value


class OnboardingConfig(_Model):
    """What finishing an onboarding leaves: the code type each producer type gets, and whether the producer
    and that code are validated on finish."""

    validateOnFinish: StrictBool = True
    codeType: dict[str, str] = Field(default_factory=dict)


class OffboardingConfig(_Model):
    """How removing a producer treats the producers below it."""

    agencyRemoval: Literal["cascade", "refuse"] = "cascade"


class AlertWindows(_Model):
    """Days before an expiration date at which a compliance alert opens: three windows, widest first."""

    upcoming: StrictInt = Field(default=90, ge=1, le=3650)
    soon: StrictInt = Field(default=30, ge=1, le=3650)
    urgent: StrictInt = Field(default=7, ge=1, le=3650)

    @model_validator(mode="after")
    def _ordered(self) -> AlertWindows:
        if not self.upcoming > self.soon > self.urgent:
            raise ValueError("alert windows must narrow: upcoming > soon > urgent (days)")
        return self


class ComplianceConfig(_Model):
    """Expiration alerts and the daily digest email of each agency: the windows, and who receives the digest
    (by agency locator; `defaultDigestRecipients` for the agencies not listed, else the agency's own email)."""

    alertWindows: AlertWindows = Field(default_factory=AlertWindows)
    digestRecipients: dict[str, list[str]] = Field(default_factory=dict)
    defaultDigestRecipients: list[str] = Field(default_factory=list)
    digestEnabled: StrictBool = True


def _default_jurisdictions() -> dict[str, Jurisdiction]:
    """A fresh mapping of the packaged reference jurisdictions (models are shared, immutable)."""
    return dict(_packaged_jurisdictions())


class TenantConfig(_Model):
    """A tenant's whole configuration; cross-checked at load, with lookup helpers."""

    producerManagement: ProducerManagement
    products: dict[str, ProductConfig] = Field(default_factory=dict)
    jurisdictions: dict[str, Jurisdiction] = Field(default_factory=_default_jurisdictions)
    plugins: PluginsConfig = Field(default_factory=PluginsConfig)
    onboarding: OnboardingConfig = Field(default_factory=OnboardingConfig)
    offboarding: OffboardingConfig = Field(default_factory=OffboardingConfig)
    compliance: ComplianceConfig = Field(default_factory=ComplianceConfig)

    @model_validator(mode="after")
    def _cross_check(self) -> TenantConfig:
        errors = _cross_check(self)
        if errors:
            raise ConfigError(errors)
        return self

    def types(self, category: Category) -> dict[str, EntityType]:
        """The named types of one category ("producers", "producerCodes", ...)."""
        if category not in CATEGORIES:
            raise ValueError(f'unknown category "{category}"; allowed: {", ".join(CATEGORIES)}')
        types: dict[str, EntityType] = getattr(self.producerManagement, category)
        return types

    def type_names(self, category: Category, *, concrete_only: bool = False) -> list[str]:
        """Type names of a category in declaration order; `concrete_only` drops abstract ones."""
        return [n for n, t in self.types(category).items() if not (concrete_only and t.abstract)]

    def entity_type(self, category: Category, name: str) -> EntityType:
        """One type by category and name; KeyError when not configured."""
        types = self.types(category)
        if name not in types:
            raise KeyError(name)
        return types[name]

    def producer_type(self, name: str) -> ProducerType:
        """A producer type by name; KeyError when not configured."""
        return self.producerManagement.producers[name]

    def producer_code_type(self, name: str) -> ProducerCodeType:
        """A producer code type by name; KeyError when not configured."""
        return self.producerManagement.producerCodes[name]

    def _chain(self, category: Category, name: str) -> list[EntityType]:
        """The type followed by its ancestors (nearest first)."""
        types = self.types(category)
        chain = [self.entity_type(category, name)]
        while chain[-1].extend is not None and len(chain) <= len(types):
            chain.append(types[chain[-1].extend])
        return chain

    def resolved_data_fields(self, category: Category, name: str) -> dict[str, DataField]:
        """Data fields including inherited ones: ancestors' first, own definitions override."""
        fields: dict[str, DataField] = {}
        for t in reversed(self._chain(category, name)):
            fields.update(t.data)
        return fields

    def resolved_kind(self, name: str) -> ProducerKind:
        """A producer type's kind, inherited through `extend`; "individual" when none sets it."""
        for t in self._chain("producers", name):
            kind = getattr(t, "kind", None)
            if kind is not None:
                return kind  # type: ignore[no-any-return]
        return "individual"

    def is_abstract(self, category: Category, name: str) -> bool:
        """Whether the type is abstract (cannot be created); not inherited."""
        return self.entity_type(category, name).abstract

    def searchable_fields(self, category: Category, name: str) -> list[str]:
        """Data fields that are searchable: marked so, or text-like under `defaultSearchable`."""
        default = self.entity_type(category, name).defaultSearchable
        return [
            fname for fname, f in self.resolved_data_fields(category, name).items()
            if f.searchable is True
            or (f.searchable is None and default and f.type in _SEARCHABLE_BY_DEFAULT)
        ]

    def numbering_plan_for(self, code_type: str) -> tuple[str, NumberingPlan] | None:
        """(plan name, plan) for a producer code type, inherited through `extend`; None if none."""
        for t in self._chain("producerCodes", code_type):
            plan_name = getattr(t, "numberingPlan", None)
            if plan_name is not None:
                return plan_name, self.producerManagement.numberingPlans[plan_name]
        return None

    def numbering_string_for(self, code_type: str) -> str | None:
        """The numbering string for a producer code type, inherited through `extend`."""
        for t in self._chain("producerCodes", code_type):
            value = getattr(t, "numberingString", None)
            if value is not None:
                return str(value)
        return None

    def product(self, name: str) -> ProductConfig:
        """A product's configuration; an unconfigured product requires no qualification."""
        return self.products.get(name) or ProductConfig()

    def jurisdiction(self, code: str) -> Jurisdiction:
        """A jurisdiction by its 2-letter code; KeyError when unknown."""
        return self.jurisdictions[code]

    def lines_of_authority(self) -> list[str]:
        """Every line of authority offered by at least one jurisdiction, sorted."""
        return sorted({loa for j in self.jurisdictions.values() for loa in j.linesOfAuthority})


def _cross_check(cfg: TenantConfig) -> list[str]:
    """Checks spanning several parts of the config; returns every "path: problem" found."""
    errors: list[str] = []
    pm = cfg.producerManagement
    for category in CATEGORIES:
        errors += _check_types(f"producerManagement.{category}", cfg.types(category))
    plans = pm.numberingPlans
    known_plans = f"known plans: {', '.join(plans)}" if plans else "no numberingPlans are defined"
    for name, code_type in pm.producerCodes.items():
        if code_type.numberingPlan is not None and code_type.numberingPlan not in plans:
            errors.append(f"producerManagement.producerCodes.{name}.numberingPlan: unknown numbering plan "
                          f'"{code_type.numberingPlan}"; {known_plans}')
    for code in cfg.jurisdictions:
        if not _JURISDICTION_CODE.fullmatch(code):
            errors.append(f'jurisdictions.{code}: jurisdiction code must be 2 uppercase letters, such as "CA"')
    errors += _check_onboarding(cfg)
    loas = cfg.lines_of_authority()
    for product_name, product in cfg.products.items():
        for loa in product.requiredLinesOfAuthority:
            if loa not in loas:
                errors.append(f'products.{product_name}.requiredLinesOfAuthority: unknown line of authority '
                              f'"{loa}"; known: {", ".join(loas)}')
    return errors


def _check_onboarding(cfg: TenantConfig) -> list[str]:
    """`onboarding.codeType`: configured producer types mapped to configured, concrete producer code types."""
    errors: list[str] = []
    producers, codes = cfg.producerManagement.producers, cfg.producerManagement.producerCodes
    concrete = [n for n, t in codes.items() if not t.abstract]
    for producer_type, code_type in cfg.onboarding.codeType.items():
        path = f"onboarding.codeType.{producer_type}"
        if producer_type not in producers:
            errors.append(f'{path}: unknown producer type "{producer_type}"; known: {", ".join(producers)}')
        if code_type not in codes or codes[code_type].abstract:
            errors.append(f'{path}: unknown code type "{code_type}"; use a concrete producer code type: '
                          f'{", ".join(concrete) or "none is configured"}')
    return errors


def _check_types(base: str, types: dict[str, EntityType]) -> list[str]:
    """Names, `extend` targets, cycles and inherited-field redefinitions within one category."""
    errors: list[str] = []
    for name, t in types.items():
        if not _NAME.fullmatch(name):
            errors.append(f"{base}.{name}: type name must start with a letter and hold only letters, "
                          "digits and _")
        for field_name in t.data:
            if not _NAME.fullmatch(field_name):
                errors.append(f"{base}.{name}.data.{field_name}: field name must start with a letter and "
                              "hold only letters, digits and _")
        if t.extend is not None and t.extend not in types:
            errors.append(f'{base}.{name}.extend: unknown type "{t.extend}"')
        for field_name, field in t.data.items():
            target = field.expirationField
            if target is not None and (target not in t.data or t.data[target].type not in ("date", "datetime")):
                errors.append(f'{base}.{name}.data.{field_name}.expirationField: "{target}" must be a date or '
                              "datetime field defined beside it in the same type")

    broken: set[str] = set()  # in a cycle or extending a missing type: inheritance not resolvable
    reported_cycles: list[set[str]] = []
    for name in types:
        chain = [name]
        current = types[name].extend
        while current is not None and current in types and current not in chain:
            chain.append(current)
            current = types[current].extend
        if current is None:
            continue
        broken.add(name)
        if current == name and not any(name in cycle for cycle in reported_cycles):
            reported_cycles.append(set(chain))
            errors.append(f"{base}.{name}.extend: cyclic extend {' -> '.join([*chain, name])}")

    for name, t in types.items():
        if name in broken or t.extend is None:
            continue
        inherited: dict[str, tuple[str, DataField]] = {}
        ancestors = []
        current = t.extend
        while current is not None:
            ancestors.append(current)
            current = types[current].extend
        for ancestor in reversed(ancestors):
            for field_name, field in types[ancestor].data.items():
                inherited[field_name] = (ancestor, field)
        for field_name, field in t.data.items():
            if field_name in inherited and inherited[field_name][1].type != field.type:
                origin, parent_field = inherited[field_name]
                errors.append(f'{base}.{name}.data.{field_name}: redefines inherited field "{field_name}" '
                              f"(a {parent_field.type} field from {origin}) as {field.type}; "
                              "an override must keep the type")
    return errors


def _pydantic_errors(exc: ValidationError) -> list[str]:
    """Pydantic's errors as "dotted.path: problem" strings."""
    out: list[str] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = ".".join(str(part) for part in loc) or "(root)"
        kind, msg = err["type"], err["msg"]
        if kind == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            message = f"unknown key; allowed keys: {', '.join(allowed)}" if allowed else "unknown key"
        elif kind == "missing":
            message = "required key is missing"
        elif kind == "value_error":
            message = msg.removeprefix("Value error, ")
        else:
            message = msg[:1].lower() + msg[1:]
            value = err.get("input")
            if isinstance(value, str | int | float | bool) or value is None:
                message += f"; got {json.dumps(value)}"
        out.append(f"{path}: {message}")
    return out


def _unwrap(annotation: Any) -> Any:
    """Strip `X | None` down to X."""
    if get_origin(annotation) in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at `loc` (within TenantConfig) accepts; [] when it is not a model."""
    current: Any = TenantConfig
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = _unwrap(field.annotation)
        elif get_origin(current) is dict:
            current = _unwrap(get_args(current)[1])
        else:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def parse_tenant_config(raw: dict[str, Any] | str | bytes) -> TenantConfig:
    """Parse and check a tenant configuration (a dict, or JSON text); raise ConfigError if refused."""
    if isinstance(raw, str | bytes | bytearray):
        try:
            raw = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError([f"(root): invalid JSON: {exc}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError([f"(root): the configuration must be a JSON object; got {type(raw).__name__}"])
    try:
        return TenantConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_pydantic_errors(exc)) from None


def load_tenant_config_file(path: str | PathLike[str]) -> TenantConfig:
    """Read and parse a tenant configuration JSON file; raise ConfigError if unreadable or refused."""
    try:
        with open(path, "rb") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError([f"(root): cannot read {path}: {exc.strerror}"]) from None
    return parse_tenant_config(text)


def _read_default(name: str) -> Any:
    """Load a packaged JSON file from app/defaults."""
    return json.loads(resources.files("app").joinpath("defaults", name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _packaged_jurisdictions() -> dict[str, Jurisdiction]:
    """The reference jurisdictions (example fees), parsed once."""
    adapter = TypeAdapter(dict[str, Jurisdiction])
    return adapter.validate_python(_read_default("jurisdictions.json"))


@lru_cache(maxsize=1)
def _default_config_raw() -> dict[str, Any]:
    """The packaged default configuration as loaded from JSON, read once."""
    raw: dict[str, Any] = _read_default("default_config.json")
    return raw


def default_config_dict() -> dict[str, Any]:
    """A fresh copy of the packaged default configuration, for tests and tenant bootstrap."""
    return copy.deepcopy(_default_config_raw())


@lru_cache(maxsize=1)
def default_tenant_config() -> TenantConfig:
    """The packaged default configuration, parsed once (immutable, safe to share)."""
    return parse_tenant_config(default_config_dict())
