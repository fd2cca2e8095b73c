"""The generated reference guides match the code: configuration keys and the permissions each operation declares."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

DOCS = Path(__file__).resolve().parents[2] / "docs"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_reference_is_up_to_date():
    assert (DOCS / "configuration.md").read_text() == generator().configuration(), (
        "docs/configuration.md is out of date: run .venv/bin/python docs/generate.py")


def test_auth_and_roles_reference_is_up_to_date():
    assert (DOCS / "auth-and-roles.md").read_text() == generator().auth_and_roles(), (
        "docs/auth-and-roles.md is out of date: run .venv/bin/python docs/generate.py")



def test_settings_table_of_the_operations_guide_is_up_to_date():
    assert (DOCS / "operations.md").read_text() == generator().operations(), (
        "the settings table of docs/operations.md is out of date: run .venv/bin/python docs/generate.py")
