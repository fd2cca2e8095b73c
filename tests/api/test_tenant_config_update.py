"""Changing a tenant's configuration: new types become usable; types still in use cannot be dropped."""

import copy
import json

from app import tenants
from app.errors import DomainError
from app.settings import get_settings
from app.tenant_config import default_config_dict
from tests.api.helpers import CREATE_PRODUCER, create_producer


def with_broker_type() -> dict:
    config = copy.deepcopy(default_config_dict())
    config["producerManagement"]["producers"]["Broker"] = {"extend": "Producer", "kind": "organization"}
    return config


async def test_a_type_added_to_the_configuration_can_be_created_at_once(app, gql, new_tenant):
    # given a tenant on the default configuration, which has no Broker type
    tenant = await new_tenant()
    refused = await gql.ok(CREATE_PRODUCER, {"input": {"type": "Broker", "organizationName": "B"}},
                           token=tenant.admin)
    assert refused["createProducer"]["userErrors"][0]["code"] == "UNKNOWN_TYPE"

    # when the configuration gains one
    updated = await tenants.update_tenant_config(app.state.sessions, tenant.id, with_broker_type())

    # then the version moves on and the type can be created
    assert updated.version == 2
    broker = await create_producer(gql, tenant.admin, type="Broker", organizationName="Broker Co")
    assert broker["kind"] == "ORGANIZATION"


async def test_a_type_still_in_use_cannot_be_dropped(app, gql, new_tenant):
    # given an Agent producer
    tenant = await new_tenant()
    await create_producer(gql, tenant.admin)
    config = copy.deepcopy(default_config_dict())
    del config["producerManagement"]["producers"]["Agent"]
    del config["onboarding"]["codeType"]["Agent"]

    # when a configuration without the Agent type is stored
    try:
        await tenants.update_tenant_config(app.state.sessions, tenant.id, config)
        raised = None
    except DomainError as exc:
        raised = exc

    # then it is refused, naming the type and its use, and the old configuration stays
    assert raised is not None and raised.code == "TYPE_IN_USE"
    assert "producers.Agent (1 in use)" in raised.message
    loaded = await tenants.load_tenant(app.state.sessions, tenant.id)
    assert loaded is not None and "Agent" in loaded.config.producerManagement.producers


async def test_the_cli_updates_a_tenant_configuration(app, new_tenant, tmp_path, monkeypatch, capsys):
    from app.runtime.cli import main

    tenant = await new_tenant()
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(with_broker_type()))
    broken = with_broker_type()
    broken["producerManagement"]["producers"]["Broker"]["extend"] = "Prodcer"
    bad.write_text(json.dumps(broken))
    monkeypatch.setenv("DATABASE_URL", app.state.database_url)
    get_settings.cache_clear()
    try:
        import asyncio

        ok_code = await asyncio.to_thread(main, ["tenant", "update", tenant.id, "--config", str(good)])
        ok_out = capsys.readouterr().out
        bad_code = await asyncio.to_thread(main, ["tenant", "update", tenant.id, "--config", str(bad)])
        bad_err = capsys.readouterr().err
    finally:
        get_settings.cache_clear()

    assert ok_code == 0 and "configuration version 2" in ok_out
    assert bad_code == 1
    assert 'producerManagement.producers.Broker.extend: unknown type "Prodcer"' in bad_err
