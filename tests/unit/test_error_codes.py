"""Every error code the code base can raise is a value of ErrorCode (app/error_codes.py): a scan of the source finds
each code where it is made (error constructors, `code=` keywords, `{"code": ...}` dicts, SQL text) and the registry
refuses an unregistered code at run time, in the domain errors and in the error shaper."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql import GraphQLEnumType, GraphQLError

from app.auth import AuthError, Role
from app.error_codes import ErrorCode, registered
from app.errors import DomainError, Problem
from app.settings import Settings
from schema.api import build_schema
from schema.errors import _shape

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("app", "schema", "resolvers", "persistence")
CODE_LIKE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
# Calls whose first positional argument is an error code, and helpers whose code is the n-th argument.
CODE_FIRST = {"DomainError", "NotFound", "Problem", "AuthError", "DataValueError", "CheckReason", "Reason", "fail"}
CODE_AT = {"_error": 1, "_fail": 1, "CodedHTTPException": 2}
CODE_KEYWORDS = {"code", "error_code"}
# Upper-case words in the source that are not error codes (besides enum values, roles and settings): file names,
# environment variables of other tools, Python names listed in __all__-like tuples.
NOT_CODES = {"PG_VERSION", "PROMETHEUS_MULTIPROC_DIR", "DATABASE_URL", "TEST_DATABASE_URL", "COLUMN_LABELS",
             "REQUIRED_COLUMNS", "COMPRESS_MIN_BYTES", "AGENCY_SCOPED", "ALL_ROLES", "NON_RESIDENT", "IN_PROGRESS"}


def sources() -> Iterator[tuple[Path, ast.Module]]:
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            if "migrations" in path.parts:  # SQL of past revisions (trigger variables such as TG_OP)
                continue
            yield path, ast.parse(path.read_text(), str(path))


def _constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level NAME = <expr> assignments, to resolve a code passed by name."""
    table: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            table[node.targets[0].id] = node.value
    return table


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def code_arguments(tree: ast.Module) -> Iterator[ast.expr]:
    """Every expression the source passes where an error code goes."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _callee(node)
            position = 0 if name in CODE_FIRST else CODE_AT.get(name)
            if position is not None and len(node.args) > position:
                yield node.args[position]
            yield from (k.value for k in node.keywords if k.arg in CODE_KEYWORDS)
        elif isinstance(node, ast.Dict):
            yield from (v for k, v in zip(node.keys, node.values, strict=True)
                        if isinstance(k, ast.Constant) and k.value == "code")


def unregistered_codes_at_call_sites() -> list[str]:
    """`file:line code` for each code argument not in ErrorCode, and each code built at run time (f-string)."""
    problems: list[str] = []
    for path, tree in sources():
        constants = _constants(tree)
        for expr in code_arguments(tree):
            where = f"{path.relative_to(ROOT)}:{expr.lineno}"
            if isinstance(expr, ast.Name) and expr.id in constants:
                expr = constants[expr.id]
            if isinstance(expr, ast.JoinedStr):
                problems.append(f"{where} builds a code with an f-string: name it in a table of registered codes")
            elif isinstance(expr, ast.Constant) and isinstance(expr.value, str) \
                    and expr.value not in ErrorCode.__members__:
                problems.append(f"{where} {expr.value}")
    return sorted(problems)


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def known_words() -> set[str]:
    """Upper-case words that are something else: values of the other enums, roles, settings' variables."""
    schema = build_schema(Settings())._schema
    words = {value for gtype in schema.type_map.values()
             if isinstance(gtype, GraphQLEnumType) and gtype.name != "ErrorCode" for value in gtype.values}
    words |= {role.value for role in Role} | {name.upper() for name in Settings.model_fields}
    return words | NOT_CODES


def unregistered_code_like_words() -> list[str]:
    """`file:line WORD` for each code-like word in a string (SQL included, docstrings not) that nothing explains."""
    allowed = set(ErrorCode.__members__) | known_words()
    problems: list[str] = []
    for path, tree in sources():
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                problems += [f"{path.relative_to(ROOT)}:{node.lineno} {word}"
                             for word in CODE_LIKE.findall(node.value) if word not in allowed]
    return sorted(set(problems))


def test_every_code_passed_to_an_error_is_a_value_of_error_code():
    # given every place the source makes an error with a code
    # when each code is looked up in the registry
    problems = unregistered_codes_at_call_sites()
    # then each is registered (a new code needs its line in app/error_codes.py)
    assert problems == [], "codes missing from app/error_codes.py:\n" + "\n".join(problems)


def test_every_code_like_word_in_the_source_is_a_registered_code_or_a_known_name():
    # given every upper-case word with an underscore in a string of the source (messages, SQL, tables of codes)
    # when the registered codes, the other enums' values, the roles and the settings are set aside
    problems = unregistered_code_like_words()
    # then nothing is left: a code in SQL or in a table is registered too
    assert problems == [], "register these codes in app/error_codes.py (or name them in NOT_CODES):\n" + \
        "\n".join(problems)


def test_the_scan_finds_an_unregistered_code_and_a_code_built_at_run_time(tmp_path, monkeypatch):
    # given a module raising an unregistered code, one building a code with an f-string, one in a dict
    layer = tmp_path / "app"
    layer.mkdir()
    (layer / "bad.py").write_text('KIND = "x"\nNOPE = "NOT_A_REGISTERED_CODE"\n'
                                  'def f():\n    raise DomainError(NOPE, "m")\n'
                                  'def g():\n    raise NotFound(f"{KIND}_NOT_FOUND", "m")\n'
                                  'BODY = {"code": "ANOTHER_UNREGISTERED_CODE"}\n')
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "LAYERS", ("app",))
    # when scanned
    problems = unregistered_codes_at_call_sites()
    # then each is named with its line
    assert problems == ["app/bad.py:4 NOT_A_REGISTERED_CODE",
                        "app/bad.py:6 builds a code with an f-string: name it in a table of registered codes",
                        "app/bad.py:7 ANOTHER_UNREGISTERED_CODE"]


@pytest.mark.parametrize("make", [
    lambda: DomainError("NOT_A_REGISTERED_CODE", "m"),
    lambda: Problem("NOT_A_REGISTERED_CODE", "m"),
    lambda: AuthError("NOT_A_REGISTERED_CODE", "m"),
], ids=["DomainError", "Problem", "AuthError"])
def test_an_error_with_an_unregistered_code_cannot_be_made(make):
    # given a code that is not in ErrorCode; when an error is made with it, then it fails loudly, naming the file
    with pytest.raises(ValueError, match="not in app/error_codes.py"):
        make()


def test_a_registered_code_given_as_text_becomes_its_member():
    # given a code as a plain string; when a domain error is made with it; then it is the registry's member
    error = DomainError("CODE_TAKEN", "m")
    assert error.code is ErrorCode.CODE_TAKEN and error.problems[0].code is ErrorCode.CODE_TAKEN
    assert registered("CODE_TAKEN") == "CODE_TAKEN"


def test_the_error_shaper_masks_an_unregistered_extensions_code():
    # given a GraphQL error whose extensions carry a code the registry lacks
    error = GraphQLError("something", extensions={"code": "NOT_A_REGISTERED_CODE"})
    # when shaped for the response
    shaped = _shape(error, "req-1")
    # then the client sees INTERNAL_SERVER_ERROR (a value of ErrorCode), not the unknown code
    assert shaped.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-1"}
    assert "req-1" in shaped.message


def test_every_code_has_its_name_as_value_and_a_description():
    # given the registry; then each member's value is its name and it says what it means
    assert [c.name for c in ErrorCode] == [c.value for c in ErrorCode]
    assert all(len(c.description) > 10 for c in ErrorCode)
    assert len(ErrorCode.__members__) == len(set(ErrorCode.__members__.values()))  # no alias hides a duplicate
