"""Tenants and their configuration: create, update, and load (cached briefly per process)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import DomainError, NotFound
from app.plugins import Plugins
from app.tenant_config import TenantConfig, parse_tenant_config
from persistence import producers as producer_store
from persistence import tenants as store
from persistence.base import utcnow
from persistence.db import read_only, transaction

CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class LoadedTenant:
    id: str
    name: str
    version: int
    config: TenantConfig
    plugins: Plugins


_cache: dict[str, tuple[float, LoadedTenant]] = {}


async def ensure_numbering_sequences(session: AsyncSession, tenant_id: str, config: TenantConfig) -> None:
    for name, plan in config.producerManagement.numberingPlans.items():
        await producer_store.ensure_sequence(
            session, producer_store.sequence_name(tenant_id, name), plan.initialCoreNumber
        )


async def create_tenant(sessions: async_sessionmaker[AsyncSession], name: str, raw_config: Any) -> LoadedTenant:
    """Validate the configuration and store a new tenant with its numbering sequences."""
    config = parse_tenant_config(raw_config)
    plugins = Plugins.load(config.plugins.precommit, config.plugins.validation)
    async with transaction(sessions) as session:
        if await store.get_tenant_by_name(session, name):
            raise DomainError("TENANT_EXISTS", f"A tenant named {name!r} already exists.", "name")
        record = store.TenantRecord(name=name, config=config.model_dump(mode="json", exclude_none=True, by_alias=True))
        session.add(record)
        await session.flush()
        await ensure_numbering_sequences(session, record.id, config)
    return LoadedTenant(record.id, record.name, record.config_version, config, plugins)


async def update_tenant_config(sessions: async_sessionmaker[AsyncSession], tenant_id: str,
                               raw_config: Any) -> LoadedTenant:
    """Replace a tenant's configuration; refused when it drops a type that stored records still use."""
    config = parse_tenant_config(raw_config)
    plugins = Plugins.load(config.plugins.precommit, config.plugins.validation)
    async with transaction(sessions) as session:
        record = await store.get_tenant(session, tenant_id)
        if record is None:
            raise NotFound("TENANT_NOT_FOUND", "No such tenant.")
        missing = [f"{category}.{name} ({count} in use)"
                   for category, names in (await store.types_in_use(session, tenant_id)).items()
                   for name, count in sorted(names.items()) if name not in getattr(config.producerManagement, category)]
        if missing:
            raise DomainError("TYPE_IN_USE", "The new configuration drops types that existing records use: "
                              + ", ".join(missing) + ". Keep them (they may be made abstract only if unused).",
                              "config")
        record.config = config.model_dump(mode="json", exclude_none=True, by_alias=True)
        record.config_version += 1
        record.updated_at = utcnow()
        await ensure_numbering_sequences(session, record.id, config)
    _cache.pop(tenant_id, None)
    return LoadedTenant(record.id, record.name, record.config_version, config, plugins)


async def load_tenant(sessions: async_sessionmaker[AsyncSession], tenant_id: str) -> LoadedTenant | None:
    """The tenant with its parsed configuration; cached for a few seconds so requests skip the parse."""
    hit = _cache.get(tenant_id)
    now = time.monotonic()
    if hit and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    async with read_only(sessions) as session:
        record = await store.get_tenant(session, tenant_id)
    if record is None:
        return None
    if hit and hit[1].version == record.config_version:
        loaded = hit[1]
    else:
        config = parse_tenant_config(record.config)
        plugins = Plugins.load(config.plugins.precommit, config.plugins.validation)
        loaded = LoadedTenant(record.id, record.name, record.config_version, config, plugins)
    _cache[tenant_id] = (now, loaded)
    return loaded
