"""Example plugins in the manner of the seed: a precommit that fills data, a validation that checks it."""

from __future__ import annotations

from typing import Any

from app.plugins import handles


class ExamplePrecommit:
    """Stamps agencies and agent codes with a note, as the seed's example does (fields of the default config)."""

    @handles("Agency")
    def agency(self, producer: dict[str, Any]) -> dict[str, Any]:
        producer["data"] = {**producer.get("data", {}), "notes": "added by preCommit"}
        return producer

    @handles("AgentCode")
    def agent_code(self, code: dict[str, Any]) -> dict[str, Any]:
        code["data"] = {**code.get("data", {}), "notes": "added by preCommit"}
        return code


class ExampleValidation:
    """Refuses producers whose data status is not active, as the seed's example does."""

    @handles("Producer")
    def producer(self, producer: dict[str, Any]) -> list[str]:
        status = (producer.get("data") or {}).get("status", "active")
        return [] if str(status).lower() == "active" else ["producer must be active"]


class ExplodingValidation:
    """A broken plugin: its failure must surface as a validation error, never as corrupted data."""

    @handles("Producer")
    def producer(self, producer: dict[str, Any]) -> list[str]:
        raise RuntimeError("boom")

    @handles("AgencyCode", "AgentCode")
    def code(self, code: dict[str, Any]) -> list[str]:
        raise RuntimeError("boom")


class ExplodingPrecommit:
    """A broken precommit: the save it runs for must be refused, and nothing stored."""

    @handles("Agent", "AgentCode")
    def explode(self, subject: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("boom")
