"""Tenant configuration: parsing, load-time refusals with their paths, inheritance and helpers."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.tenant_config import (
    ConfigError,
    NumberingPlan,
    ProductConfig,
    TenantConfig,
    UnderwritingFlagConfig,
    default_config_dict,
    default_tenant_config,
    load_tenant_config_file,
    parse_tenant_config,
)

JURISDICTIONS = {
    "CA": {"name": "California", "kind": "state",
           "linesOfAuthority": {"Property": {"fee": "50.00"}, "Casualty": {"fee": "55.00"}}},
    "PR": {"name": "Puerto Rico", "kind": "territory", "linesOfAuthority": {"Life": {"fee": "20.00"}}},
}


def minimal(**overrides: Any) -> dict[str, Any]:
    """A small valid configuration; keyword arguments replace producerManagement keys."""
    pm: dict[str, Any] = {
        "producers": {
            "Producer": {"abstract": True, "data": {"phone": {"type": "string"}}},
            "Agent": {"extend": "Producer", "kind": "individual"},
        },
        "producerCodes": {"Code": {"numberingPlan": "Codes"}},
        "numberingPlans": {"Codes": {"format": "C-####"}},
    }
    pm.update(overrides)
    return {"producerManagement": pm, "jurisdictions": JURISDICTIONS}


def refusal(raw: dict[str, Any] | str | bytes) -> list[str]:
    """The errors a configuration is refused with."""
    with pytest.raises(ConfigError) as exc:
        parse_tenant_config(raw)
    return exc.value.errors


# --- refusals, each with its exact message -------------------------------------------------------

def test_unknown_extend_target_is_refused() -> None:
    raw = minimal(producers={"Agent": {"extend": "Agnt"}})
    assert refusal(raw) == ['producerManagement.producers.Agent.extend: unknown type "Agnt"']


def test_extend_across_categories_is_an_unknown_type() -> None:
    raw = minimal(producerLicenses={"StateLicense": {"extend": "Producer"}})
    assert refusal(raw) == ['producerManagement.producerLicenses.StateLicense.extend: unknown type "Producer"']


def test_cyclic_extend_is_refused_once_per_cycle() -> None:
    raw = minimal(producers={"A": {"extend": "B"}, "B": {"extend": "A"}, "C": {"extend": "A"}})
    assert refusal(raw) == ["producerManagement.producers.A.extend: cyclic extend A -> B -> A"]


def test_self_extend_is_a_cycle() -> None:
    raw = minimal(producerCodes={"Code": {"extend": "Code"}})
    assert refusal(raw) == ["producerManagement.producerCodes.Code.extend: cyclic extend Code -> Code"]


def test_longer_cycle_names_every_step() -> None:
    raw = minimal(producerAppointments={"X": {"extend": "Y"}, "Y": {"extend": "Z"}, "Z": {"extend": "X"}})
    assert refusal(raw) == ["producerManagement.producerAppointments.X.extend: cyclic extend X -> Y -> Z -> X"]


def test_redefining_an_inherited_field_with_another_type_is_refused() -> None:
    raw = minimal(producers={
        "Producer": {"abstract": True, "data": {"phone": {"type": "string"}}},
        "Agency": {"extend": "Producer"},
        "Branch": {"extend": "Agency", "data": {"phone": {"type": "int"}}},
    })
    assert refusal(raw) == [
        'producerManagement.producers.Branch.data.phone: redefines inherited field "phone" '
        "(a string field from Producer) as int; an override must keep the type"
    ]


def test_unknown_numbering_plan_is_refused() -> None:
    raw = minimal(producerCodes={"Code": {"numberingPlan": "Codez"}})
    assert refusal(raw) == [
        'producerManagement.producerCodes.Code.numberingPlan: unknown numbering plan "Codez"; known plans: Codes'
    ]


def test_numbering_plan_reference_without_any_plans_is_refused() -> None:
    raw = minimal(numberingPlans={})
    assert refusal(raw) == [
        'producerManagement.producerCodes.Code.numberingPlan: unknown numbering plan "Codes"; '
        "no numberingPlans are defined"
    ]


def test_unknown_required_line_of_authority_is_refused() -> None:
    raw = minimal()
    raw["products"] = {"PersonalAuto": {"producerQualification": "license",
                                        "requiredLinesOfAuthority": ["Property", "Propery"]}}
    assert refusal(raw) == [
        'products.PersonalAuto.requiredLinesOfAuthority: unknown line of authority "Propery"; '
        "known: Casualty, Life, Property"
    ]


def test_jurisdiction_code_must_be_two_uppercase_letters() -> None:
    raw = minimal()
    raw["jurisdictions"] = {**JURISDICTIONS, "ca": JURISDICTIONS["CA"], "USA": JURISDICTIONS["CA"]}
    assert refusal(raw) == [
        'jurisdictions.ca: jurisdiction code must be 2 uppercase letters, such as "CA"',
        'jurisdictions.USA: jurisdiction code must be 2 uppercase letters, such as "CA"',
    ]


@pytest.mark.parametrize(
    ("fmt", "error"),
    [
        ("C-{code}-#", 'unknown placeholder "{code}" in format "C-{code}-#"; only {numberingString} is allowed'),
        ("C-", 'format "C-" has no # for the core number; add at least one #'),
        ("C-#\\", 'dangling backslash at the end of format "C-#\\"; write \\\\ for a literal backslash'),
    ],
)
def test_invalid_numbering_format_is_refused(fmt: str, error: str) -> None:
    raw = minimal(numberingPlans={"Codes": {"format": fmt}})
    assert refusal(raw) == [f"producerManagement.numberingPlans.Codes.format: {error}"]


def test_initial_core_number_must_fit_the_format() -> None:
    raw = minimal(numberingPlans={"Codes": {"format": "C-##", "initialCoreNumber": 100}})
    assert refusal(raw) == [
        'producerManagement.numberingPlans.Codes: initialCoreNumber 100 does not fit in format "C-##" (at most 99)'
    ]


def test_negative_initial_core_number_is_refused() -> None:
    raw = minimal(numberingPlans={"Codes": {"format": "C-##", "initialCoreNumber": -1}})
    assert refusal(raw) == [
        "producerManagement.numberingPlans.Codes.initialCoreNumber: input should be greater than or equal to 0; got -1"
    ]


def test_unknown_key_is_refused_with_the_allowed_keys() -> None:
    raw = minimal(producers={"Agent": {"extends": "Producer"}})
    assert refusal(raw) == [
        "producerManagement.producers.Agent.extends: unknown key; allowed keys: "
        "abstract, extend, data, defaultSearchable, description, kind"
    ]


def test_unknown_top_level_key_is_refused() -> None:
    raw = minimal()
    raw["product"] = {}
    assert refusal(raw) == ["product: unknown key; allowed keys: producerManagement, products, jurisdictions, plugins, "
                            "onboarding, offboarding, compliance"]


def test_enum_field_without_values_is_refused() -> None:
    raw = minimal(producerLicenses={"License": {"data": {"class": {"type": "enum"}}}})
    assert refusal(raw) == ['producerManagement.producerLicenses.License.data.class: an enum field needs a non-empty '
                            '"values" list']


def test_values_on_a_non_enum_field_are_refused() -> None:
    raw = minimal(producerLicenses={"License": {"data": {"class": {"type": "string", "values": ["a"]}}}})
    assert refusal(raw) == ['producerManagement.producerLicenses.License.data.class: "values" is only allowed on '
                            "enum fields, not on a string field"]


def test_duplicate_enum_values_are_refused() -> None:
    raw = minimal(producerLicenses={"License": {"data": {"c": {"type": "enum", "values": ["a", "b", "a"]}}}})
    assert refusal(raw) == ["producerManagement.producerLicenses.License.data.c: enum values must be unique; "
                            "repeated: a"]


@pytest.mark.parametrize(
    ("field", "error"),
    [
        ({"type": "enum", "values": ["active", "inactive"], "default": "gone"},
         'default "gone" is not valid: expected one of: active, inactive'),
        ({"type": "int", "default": "5"}, 'default "5" is not valid: expected a whole number'),
        ({"type": "boolean", "default": 0}, "default 0 is not valid: expected true or false"),
        ({"type": "date", "default": "tomorrow"},
         'default "tomorrow" is not valid: expected an ISO date such as 2025-01-31'),
    ],
)
def test_default_must_be_valid_for_its_field(field: dict[str, Any], error: str) -> None:
    raw = minimal(producers={"Agent": {"data": {"f": field}}})
    assert refusal(raw) == [f"producerManagement.producers.Agent.data.f: {error}"]


def test_unknown_data_field_type_is_refused() -> None:
    raw = minimal(producers={"Agent": {"data": {"f": {"type": "number"}}}})
    assert refusal(raw) == [
        "producerManagement.producers.Agent.data.f.type: input should be 'string', 'text', 'int', 'decimal', "
        "'boolean', 'date', 'datetime', 'email', 'enum' or 'media'; got \"number\""
    ]


def test_bad_field_and_type_names_are_refused() -> None:
    raw = minimal(producers={"Agent": {"data": {"home phone": {"type": "string"}}}, "2nd": {}})
    assert refusal(raw) == [
        "producerManagement.producers.Agent.data.home phone: field name must start with a letter and hold only "
        "letters, digits and _",
        "producerManagement.producers.2nd: type name must start with a letter and hold only letters, digits and _",
    ]


def test_unknown_producer_kind_is_refused() -> None:
    raw = minimal(producers={"Agent": {"kind": "person"}})
    assert refusal(raw) == [
        "producerManagement.producers.Agent.kind: input should be 'individual' or 'organization'; got \"person\""
    ]


def test_non_boolean_abstract_is_refused() -> None:
    raw = minimal(producers={"Agent": {"abstract": "yes"}})
    assert refusal(raw) == ['producerManagement.producers.Agent.abstract: input should be a valid boolean; got "yes"']


def test_unknown_underwriting_flag_level_is_refused() -> None:
    raw = minimal(underwritingFlag={"level": "warn"})
    assert refusal(raw) == [
        "producerManagement.underwritingFlag.level: input should be 'none', 'info', 'block', 'decline' or 'reject'; "
        'got "warn"'
    ]


def test_unknown_producer_qualification_is_refused() -> None:
    raw = minimal()
    raw["products"] = {"Travel": {"producerQualification": "licence"}}
    assert refusal(raw) == [
        "products.Travel.producerQualification: input should be 'none', 'license' or 'appointment'; got \"licence\""
    ]


def test_plugin_path_must_be_dotted() -> None:
    raw = minimal()
    raw["plugins"] = {"precommit": "MyPlugin", "validation": "plugins.checks.Validator"}
    assert refusal(raw) == ['plugins.precommit: must be a dotted path like "package.module.ClassName"; got "MyPlugin"']


def test_jurisdiction_needs_lines_of_authority_and_a_valid_fee() -> None:
    raw = minimal()
    raw["jurisdictions"] = {
        "CA": {"name": "California", "kind": "state", "linesOfAuthority": {}},
        "NV": {"name": "Nevada", "kind": "state", "linesOfAuthority": {"Life": {"fee": "-1.00"}}},
        "GU": {"name": "Guam", "kind": "island", "linesOfAuthority": {"Life": {"fee": "10.00"}}},
    }
    assert refusal(raw) == [
        "jurisdictions.CA.linesOfAuthority: a jurisdiction needs at least one line of authority",
        'jurisdictions.NV.linesOfAuthority.Life.fee: input should be greater than or equal to 0; got "-1.00"',
        "jurisdictions.GU.kind: input should be 'state', 'district' or 'territory'; got \"island\"",
    ]


def test_missing_required_sections_are_refused() -> None:
    assert refusal({"producerManagement": {"producers": {}}}) == [
        "producerManagement.producerCodes: required key is missing"
    ]
    assert refusal({}) == ["producerManagement: required key is missing"]


def test_invalid_json_is_refused_at_the_root() -> None:
    assert refusal("{not json") == [
        "(root): invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    ]


def test_non_object_json_is_refused_at_the_root() -> None:
    assert refusal(b"[1, 2]") == ["(root): the configuration must be a JSON object; got list"]


def test_every_cross_check_problem_is_reported_together() -> None:
    raw = minimal(producers={"Agent": {"extend": "Agnt"}}, producerCodes={"Code": {"numberingPlan": "Nope"}})
    errors = refusal(raw)
    assert errors == [
        'producerManagement.producers.Agent.extend: unknown type "Agnt"',
        'producerManagement.producerCodes.Code.numberingPlan: unknown numbering plan "Nope"; known plans: Codes',
    ]


def test_an_onboarding_code_type_must_be_a_concrete_code_type_of_a_known_producer_type() -> None:
    raw = minimal(producerCodes={"Base": {"abstract": True}, "Code": {"extend": "Base", "numberingPlan": "Codes"}})
    raw["onboarding"] = {"codeType": {"Agent": "Cod", "Agnt": "Code", "Producer": "Base"}}

    assert refusal(raw) == [
        'onboarding.codeType.Agent: unknown code type "Cod"; use a concrete producer code type: Code',
        'onboarding.codeType.Agnt: unknown producer type "Agnt"; known: Producer, Agent',
        'onboarding.codeType.Producer: unknown code type "Base"; use a concrete producer code type: Code',
    ]


def test_onboarding_validates_on_finish_by_default_and_the_default_gives_agents_a_code() -> None:
    assert parse_tenant_config(minimal()).onboarding.validateOnFinish is True
    assert parse_tenant_config(minimal()).onboarding.codeType == {}
    assert default_tenant_config().onboarding.codeType == {"Agent": "AgentCode"}


def test_config_error_message_joins_errors_by_line() -> None:
    error = ConfigError(["a: one", "b: two"])
    assert str(error) == "a: one\nb: two"
    assert error.errors == ["a: one", "b: two"]


# --- parsing and defaults ------------------------------------------------------------------------

def test_default_config_parses_with_all_jurisdictions() -> None:
    config = default_tenant_config()
    assert len(config.jurisdictions) == 56
    assert {code for code, j in config.jurisdictions.items() if j.kind == "territory"} == {
        "PR", "GU", "VI", "AS", "MP"}
    assert [code for code, j in config.jurisdictions.items() if j.kind == "district"] == ["DC"]
    assert config.jurisdiction("CA").name == "California"


def test_default_jurisdiction_fees_are_examples_in_range() -> None:
    fees = [loa.fee for j in default_tenant_config().jurisdictions.values() for loa in j.linesOfAuthority.values()]
    assert all(Decimal("10.00") <= fee <= Decimal("200.00") for fee in fees)


def test_default_config_has_the_documented_types_and_products() -> None:
    config = default_tenant_config()
    assert config.is_abstract("producers", "Producer")
    assert config.resolved_kind("Agency") == "organization"
    assert config.resolved_kind("Agent") == "individual"
    assert config.type_names("producerCodes", concrete_only=True) == ["AgencyCode", "AgentCode"]
    assert config.type_names("producerLicenses") == ["License", "StateLicense"]
    assert config.type_names("producerAppointments") == ["CarrierAppointment"]
    assert config.producerManagement.underwritingFlag == UnderwritingFlagConfig(
        level="block", tag="Invalid Producer Qualification",
        note=config.producerManagement.underwritingFlag.note)
    assert config.product("PersonalAuto").producerQualification == "license"
    assert config.product("CommercialAuto").producerQualification == "appointment"
    assert config.product("Travel").producerQualification == "none"


def test_default_config_dict_is_a_fresh_copy() -> None:
    first = default_config_dict()
    first["producerManagement"]["producers"].clear()
    assert default_config_dict()["producerManagement"]["producers"]


def test_default_config_numbering_plans_differ_per_code_type() -> None:
    config = default_tenant_config()
    agency = config.numbering_plan_for("AgencyCode")
    agent = config.numbering_plan_for("AgentCode")
    assert agency is not None and agent is not None
    assert agency[0] != agent[0]
    assert "{numberingString}" in agent[1].format
    assert config.numbering_string_for("AgentCode") == "AGT"


def test_omitted_jurisdictions_use_the_packaged_reference() -> None:
    raw = minimal()
    del raw["jurisdictions"]
    assert len(parse_tenant_config(raw).jurisdictions) == 56


def test_given_jurisdictions_replace_the_reference() -> None:
    assert set(parse_tenant_config(minimal()).jurisdictions) == {"CA", "PR"}


def test_json_text_and_bytes_parse_like_a_dict() -> None:
    raw = minimal()
    assert parse_tenant_config(json.dumps(raw)) == parse_tenant_config(raw)
    assert parse_tenant_config(json.dumps(raw).encode()) == parse_tenant_config(raw)


def test_load_config_file(tmp_path: Path) -> None:
    path = tmp_path / "tenant.json"
    path.write_text(json.dumps(minimal()))
    assert isinstance(load_tenant_config_file(path), TenantConfig)


def test_load_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.json"
    with pytest.raises(ConfigError) as exc:
        load_tenant_config_file(path)
    assert exc.value.errors == [f"(root): cannot read {path}: No such file or directory"]


def test_absent_underwriting_flag_means_level_info() -> None:
    flag = parse_tenant_config(minimal()).producerManagement.underwritingFlag
    assert (flag.level, flag.tag, flag.note) == ("info", "Invalid Producer Qualification", None)


def test_numbering_plan_defaults() -> None:
    assert parse_tenant_config(minimal()).producerManagement.numberingPlans["Codes"] == NumberingPlan(
        format="C-####", initialCoreNumber=1, trigger="creation")


def test_loaded_config_is_immutable() -> None:
    config = parse_tenant_config(minimal())
    with pytest.raises(ValueError):
        config.producerManagement.underwritingFlag.level = "none"  # type: ignore[misc]


# --- inheritance and helpers ---------------------------------------------------------------------

def inheriting() -> TenantConfig:
    """Three levels of producer types and two of code types."""
    return parse_tenant_config(minimal(
        producers={
            "Producer": {"abstract": True, "defaultSearchable": True, "data": {
                "phone": {"type": "string"},
                "status": {"type": "enum", "values": ["active", "inactive"], "default": "active"},
                "notes": {"type": "text", "searchable": True},
            }},
            "Agency": {"extend": "Producer", "kind": "organization", "defaultSearchable": True, "data": {
                "agencyName": {"type": "string"},
                "website": {"type": "string", "searchable": False},
                "established": {"type": "date"},
                "status": {"type": "enum", "values": ["active", "inactive", "merged"], "required": True},
            }},
            "Branch": {"extend": "Agency", "data": {"branchNo": {"type": "int", "searchable": True}}},
            "Agent": {"extend": "Producer"},
        },
        producerCodes={
            "BaseCode": {"abstract": True, "numberingPlan": "Codes", "numberingString": "BC"},
            "Code": {"extend": "BaseCode"},
            "OwnCode": {"extend": "BaseCode", "numberingPlan": "Other", "numberingString": "OC"},
            "Manual": {},
        },
        numberingPlans={"Codes": {"format": "C-####"}, "Other": {"format": "{numberingString}-##"}},
    ))


def test_resolved_data_fields_put_inherited_first_and_own_overrides() -> None:
    fields = inheriting().resolved_data_fields("producers", "Branch")
    assert list(fields) == ["phone", "status", "notes", "agencyName", "website", "established", "branchNo"]
    assert fields["status"].values == ["active", "inactive", "merged"]
    assert fields["status"].required is True


def test_kind_is_inherited_and_defaults_to_individual() -> None:
    config = inheriting()
    assert config.resolved_kind("Branch") == "organization"
    assert config.resolved_kind("Agent") == "individual"


def test_abstract_is_not_inherited() -> None:
    config = inheriting()
    assert config.is_abstract("producers", "Producer") is True
    assert config.is_abstract("producers", "Agency") is False


def test_searchable_fields_follow_default_searchable_and_explicit_flags() -> None:
    config = inheriting()
    assert config.searchable_fields("producers", "Agency") == ["phone", "notes", "agencyName"]
    assert config.searchable_fields("producers", "Branch") == ["notes", "branchNo"]


def test_numbering_plan_and_string_are_inherited() -> None:
    config = inheriting()
    plan = config.numbering_plan_for("Code")
    assert plan is not None and plan[0] == "Codes"
    assert config.numbering_string_for("Code") == "BC"
    own = config.numbering_plan_for("OwnCode")
    assert own is not None and own[0] == "Other"
    assert config.numbering_string_for("OwnCode") == "OC"
    assert config.numbering_plan_for("Manual") is None
    assert config.numbering_string_for("Manual") is None


def test_unknown_names_raise_key_error() -> None:
    config = inheriting()
    with pytest.raises(KeyError):
        config.producer_type("Nobody")
    with pytest.raises(KeyError):
        config.resolved_data_fields("producerCodes", "Nobody")
    with pytest.raises(KeyError):
        config.jurisdiction("ZZ")


def test_unknown_category_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        inheriting().resolved_data_fields("agents", "Agent")  # type: ignore[arg-type]


def test_unknown_product_requires_no_qualification() -> None:
    assert inheriting().product("Pet") == ProductConfig()
