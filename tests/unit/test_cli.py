"""The `producer-graph` command: check-config verdicts and messages, token minting, schema export."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from app.runtime.cli import main
from app.tenant_config import default_config_dict

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "app" / "defaults" / "default_config.json"


def test_check_config_accepts_the_default_configuration(capsys) -> None:
    assert main(["check-config", str(DEFAULT_CONFIG)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{DEFAULT_CONFIG}: ok (3 producer types, 3 producer code types, 2 numbering plans")


def test_check_config_refuses_a_bad_configuration_with_the_precise_message(tmp_path: Path, capsys) -> None:
    config = default_config_dict()
    config["producerManagement"]["producers"]["Agent"]["extend"] = "Agnt"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(config))
    assert main(["check-config", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"{bad}: configuration refused",
                   '  producerManagement.producers.Agent.extend: unknown type "Agnt"']


def test_check_config_refuses_invalid_json(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{ not json")
    assert main(["check-config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "configuration refused" in err


def test_check_config_refuses_a_missing_file(tmp_path: Path, capsys) -> None:
    assert main(["check-config", str(tmp_path / "nope.json")]) == 1
    assert "configuration refused" in capsys.readouterr().err


def test_token_mints_a_signed_token_for_the_tenant(capsys, monkeypatch) -> None:
    from app.settings import get_settings

    get_settings.cache_clear()
    monkeypatch.setenv("JWT_SECRET", "cli-test-secret-of-a-decent-length!!")
    try:
        assert main(["token", "--tenant", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--no-lookup", "--roles",
                     "agency_admin", "--agency", "01ARZ3NDEKTSV4RRFFQ69G5FAW", "--subject", "ana"]) == 0
        token = capsys.readouterr().out.strip()
        claims = jwt.decode(token, "cli-test-secret-of-a-decent-length!!", algorithms=["HS256"])
    finally:
        get_settings.cache_clear()
    assert claims["tenant"] == "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    assert claims["roles"] == ["AGENCY_ADMIN"]
    assert claims["agency"] == "01ARZ3NDEKTSV4RRFFQ69G5FAW"
    assert claims["sub"] == "ana"


def test_an_unknown_command_exits_with_usage(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["frobnicate"])
    assert exited.value.code == 2


@pytest.mark.parametrize(("roles", "agency", "line"), [
    ("TENANT_ADMIN,ROOT", None, "token refused: unknown role ROOT: --roles takes TENANT_ADMIN, AGENCY_ADMIN, "
                                "UNDERWRITER, PRODUCER, READ_ONLY"),
    ("AGENCY_ADMIN", None, "token refused: AGENCY_ADMIN is agency-scoped: add --agency LOCATOR (the agency "
                           "producer's locator; READ_ONLY may have one too)"),
    ("producer", None, "token refused: PRODUCER is agency-scoped: add --agency LOCATOR (the agency producer's "
                       "locator; READ_ONLY may have one too)"),
    (",", None, "token refused: unknown role (none given): --roles takes TENANT_ADMIN, AGENCY_ADMIN, UNDERWRITER, "
                "PRODUCER, READ_ONLY"),
])
def test_token_refuses_unknown_roles_and_agency_scoped_ones_without_an_agency(capsys, roles, agency, line) -> None:
    # when a token is asked for roles it cannot carry as given
    code = main(["token", "--tenant", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--no-lookup", "--roles", roles])
    # then one clear line, no token, exit status 2
    captured = capsys.readouterr()
    assert (code, captured.out, captured.err.splitlines()) == (2, "", [line])


def test_token_mints_read_only_without_an_agency(capsys) -> None:
    assert main(["token", "--tenant", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--no-lookup", "--roles", "READ_ONLY"]) == 0
    assert capsys.readouterr().out.count(".") == 2


def config_with_plugin(tmp_path: Path, path: str = "acme_missing.plugins.Precommit") -> Path:
    config = default_config_dict()
    config["plugins"] = {"precommit": path}
    file = tmp_path / "plugin.json"
    file.write_text(json.dumps(config))
    return file


def test_check_config_names_a_plugin_that_cannot_be_imported(tmp_path: Path, capsys) -> None:
    # given a configuration whose precommit plugin's module does not exist
    file = config_with_plugin(tmp_path)
    # when it is checked
    assert main(["check-config", str(file)]) == 1
    # then the refusal names the plugin and why
    assert capsys.readouterr().err.splitlines() == [
        f"{file}: configuration refused",
        "  plugins.precommit: Plugin acme_missing.plugins.Precommit could not be loaded: ModuleNotFoundError "
        "(No module named 'acme_missing')"]


async def test_tenant_create_with_a_plugin_that_cannot_be_imported_prints_one_line_naming_it(tmp_path, database_url):
    # given a configuration whose plugin cannot be imported
    file = config_with_plugin(tmp_path)
    env = {**os.environ, "DATABASE_URL": database_url}
    # when a tenant is created with it
    done = await asyncio.to_thread(
        subprocess.run, [str(Path(sys.executable).parent / "producer-graph"), "tenant", "create", "plugged",
                         "--config", str(file)], env=env, capture_output=True, text=True, timeout=120)
    # then one line names the plugin (no traceback), exit status 1
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == ["tenant 'plugged' not created: Plugin acme_missing.plugins.Precommit could "
                                        "not be loaded: ModuleNotFoundError (No module named 'acme_missing')"]
