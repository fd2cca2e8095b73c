"""The install the README gives is the install that works: every module of the packages imports only what
`pip install -e .` installs, [project.dependencies] and what they require in turn (no test extras)."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "schema", "resolvers", "persistence")


def declared_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"]]


def runtime_closure(requirements: list[Requirement]) -> set[str]:
    """The canonical names of the distributions installed by the requirements and, recursively, theirs;
    a requirement's own extras count (`uvicorn[standard]`), optional extras nobody asked for do not."""
    seen: set[str] = set()
    pending = [(requirement, frozenset(requirement.extras)) for requirement in requirements]
    while pending:
        requirement, extras = pending.pop()
        name = canonicalize_name(requirement.name)
        key = name + "[" + ",".join(sorted(extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        seen.add(name)
        for text in metadata.requires(requirement.name) or []:
            child = Requirement(text)
            if child.marker is not None and not any(child.marker.evaluate({"extra": extra})
                                                    for extra in extras | {""}):
                continue
            pending.append((child, frozenset(child.extras)))
    return {key for key in seen if "[" not in key}


def imports_of(path: Path) -> set[str]:
    """Top-level names of the absolute imports in a module, wherever they are (functions, branches)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def third_party_imports() -> dict[str, list[str]]:
    """Each third-party top-level import of the packages, with the modules that import it."""
    imports: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in imports_of(path):
                if name in sys.stdlib_module_names or name in PACKAGES:
                    continue
                imports.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return imports


def uncovered_imports() -> list[str]:
    closure = runtime_closure(declared_requirements())
    distributions = metadata.packages_distributions()
    problems = []
    for name, modules in sorted(third_party_imports().items()):
        owners = {canonicalize_name(d) for d in distributions.get(name, [])}
        if not owners & closure:
            owned = ", ".join(sorted(owners)) or "no installed distribution"
            problems.append(f"{name} ({owned}) imported by {', '.join(modules)}")
    return problems


def test_the_closure_follows_requirements_and_only_the_extras_asked_for():
    # given uvicorn[standard] and pyjwt[crypto] in [project.dependencies]
    closure = runtime_closure(declared_requirements())
    # then their requirements and their asked-for extras are in, the test extras are not
    assert {"uvicorn", "uvloop", "httptools", "pyjwt", "cryptography", "cffi", "h11"} <= closure
    assert {"pytest", "hypothesis", "ruff", "mypy", "aiosmtpd"}.isdisjoint(closure)


def test_the_import_walk_sees_imports_inside_functions():
    # given the CLI, which imports the embedded PostgreSQL's resolver inside a function
    # then the walk reports it
    assert "persistence" in imports_of(ROOT / "app" / "runtime" / "cli.py")


def test_every_module_imports_only_declared_runtime_dependencies():
    # when every module of app, schema, resolvers and persistence is read
    # then each third-party import belongs to a distribution that `pip install -e .` installs
    assert uncovered_imports() == []
