"""The `producer-graph` command: check-config verdicts and messages, token minting, schema export."""

from __future__ import annotations

import json
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
