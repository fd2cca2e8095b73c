"""A schema change that breaks clients is visible: the live schema is compared with the newest released copy
(schema/released/<version>.graphql) with graphql-core's `find_breaking_changes`; a breaking change fails unless
the version in pyproject.toml has moved past the released one (docs/api-conventions.md, "Versioning")."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from graphql import build_schema as build_sdl
from graphql import find_breaking_changes, find_dangerous_changes

from app.settings import Settings
from schema.api import build_schema
from schema.export import sdl

ROOT = Path(__file__).resolve().parents[1]
RELEASED = ROOT / "schema" / "released"
VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")

Version = tuple[int, int, int]


def parse_version(text: str) -> Version:
    match = VERSION.match(text)
    assert match, f"{text!r} is not a MAJOR.MINOR.PATCH version"
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def project_version() -> Version:
    return parse_version(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def newest_released(directory: Path = RELEASED) -> tuple[Version, str]:
    """The highest version with a committed copy, and that copy's SDL."""
    copies = {parse_version(path.stem): path for path in directory.glob("*.graphql")}
    assert copies, f"no released schema under {directory}"
    newest = max(copies)
    return newest, copies[newest].read_text()


def breaking_changes(released_sdl: str, live_sdl: str) -> list[str]:
    """`TYPE: description` of every change of `live_sdl` that breaks a client written against `released_sdl`."""
    changes = find_breaking_changes(build_sdl(released_sdl), build_sdl(live_sdl))
    return [f"{change.type.name}: {change.description}" for change in changes]


def compatibility_problem(released: Version, released_sdl: str, version: Version, live_sdl: str) -> str | None:
    """Why the live schema may not ship as `version`; None when it may."""
    shown = ".".join(map(str, released))
    if version < released:
        return f"pyproject.toml's version {'.'.join(map(str, version))} is below the released {shown}."
    if version > released:
        return None  # a new version may break; its released copy is committed when it is released
    changes = breaking_changes(released_sdl, live_sdl)
    if not changes:
        return None
    return (f"{len(changes)} breaking change(s) since the released {shown}:\n  " + "\n  ".join(changes) + "\n"
            f"Make the change compatible, or move the version in pyproject.toml past {shown} (the minor version "
            "while below 1.0) and, when that version is released, commit a new released copy: "
            "`cp schema.graphql schema/released/<new version>.graphql`.")


def live_sdl() -> str:
    return sdl(build_schema(Settings(env="development")))


def test_the_live_schema_breaks_no_client_of_the_newest_released_schema_unless_the_version_moved() -> None:
    # given the newest released copy and the project's version
    released, released_sdl = newest_released()
    # when the live schema is compared with it
    problem = compatibility_problem(released, released_sdl, project_version(), live_sdl())
    # then it is compatible, or the version has moved past it
    assert problem is None, problem


def test_the_released_copy_of_0_1_0_is_the_schema_as_released() -> None:
    # given the copy committed for 0.1.0, then the project's version
    released, released_sdl = newest_released()
    # then it is a whole schema, older than the version now being built
    assert (RELEASED / "0.1.0.graphql").exists()
    assert "type Query {" in released_sdl and "type Subscription {" in released_sdl
    assert project_version() >= released


def _without_field(sdl_text: str, type_name: str, field_name: str) -> str:
    """`sdl_text` with one (argument-less) field of `type_name` removed, with its description."""
    block = re.search(rf"^type {type_name}\b.*?^}}", sdl_text, flags=re.M | re.S)
    assert block, type_name
    body = re.sub(rf'(\n  """[^"]*""")?\n  {field_name}: [^\n]*', "", block.group(0), count=1)
    assert body != block.group(0), f"{type_name}.{field_name} not found"
    return sdl_text.replace(block.group(0), body)


def test_the_checker_fails_on_a_removed_field_at_the_same_version() -> None:
    # given the released schema, and a live schema that lost a field
    released, released_sdl = newest_released()
    live = _without_field(released_sdl, "Producer", "email")
    # when it is checked at the released version
    problem = compatibility_problem(released, released_sdl, released, live)
    # then the check fails naming the removed field and the way out
    assert problem is not None
    assert "FIELD_REMOVED: Field Producer.email was removed." in problem
    assert "move the version in pyproject.toml past 0.1.0" in problem
    assert "schema/released/<new version>.graphql" in problem


def test_the_checker_passes_a_breaking_change_once_the_version_moved() -> None:
    # given the same removed field
    released, released_sdl = newest_released()
    live = _without_field(released_sdl, "Producer", "email")
    # when the version is the next minor one, then it passes; when it went back, it fails
    assert compatibility_problem(released, released_sdl, (0, 2, 0), live) is None
    assert "is below the released" in (compatibility_problem(released, released_sdl, (0, 0, 9), live) or "")


def test_the_checker_passes_an_added_field_at_the_same_version() -> None:
    # given a live schema that only adds a field (not breaking)
    released, released_sdl = newest_released()
    live = released_sdl.replace("type Producer implements Node {", "type Producer implements Node {\n  nickname: String\n",
                                1)
    assert live != released_sdl
    # then the check passes at the released version, and graphql-core sees nothing dangerous in it either
    assert compatibility_problem(released, released_sdl, released, live) is None
    assert find_dangerous_changes(build_sdl(released_sdl), build_sdl(live)) == []


def test_newest_released_is_the_highest_version_not_the_last_name(tmp_path: Path) -> None:
    # given copies for 0.9.0 and 0.10.0
    (tmp_path / "0.9.0.graphql").write_text("type Query { a: Int }\n")
    (tmp_path / "0.10.0.graphql").write_text("type Query { b: Int }\n")
    # then 0.10.0 is the newest
    assert newest_released(tmp_path) == ((0, 10, 0), "type Query { b: Int }\n")
