"""The `producer-graph` command: serve, migrate, export-schema, check-config, tenant, token, registry, compliance,
demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from app.settings import get_settings


def _url() -> str:
    from persistence.db import resolve_url

    settings = get_settings()
    return resolve_url(settings.database_url, settings.data_dir)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; then leave the embedded PostgreSQL (stopped unless another server uses it).

    uvicorn shuts down gracefully on either signal and then raises it again: SIGINT ends here as
    KeyboardInterrupt, SIGTERM through `_exit_on_sigterm` (its default action would end the process before the
    embedded PostgreSQL is stopped)."""
    import os
    import signal

    from app.runtime import supervisor
    from app.runtime.logs import configure_logging
    from persistence.db import stop_embedded
    from persistence.migrate import upgrade

    settings = get_settings()
    configure_logging(settings)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        url = _url()
        upgrade(url)  # once, before the workers start
        os.environ["DATABASE_URL"] = url  # workers join the same (embedded) database
        supervisor.serve("app.runtime.server:create_production_app", host=args.host or settings.host,
                         port=args.port or settings.port, workers=args.workers,
                         healthcheck_timeout=settings.worker_healthcheck_timeout_seconds, log_config=None,
                         access_log=False, proxy_headers=True)
    except KeyboardInterrupt:
        pass
    finally:
        stop_embedded()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from persistence.migrate import upgrade

    upgrade(_url(), args.revision)
    print(f"database migrated to {args.revision}")
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    from schema.api import build_schema
    from schema.export import sdl

    text = sdl(build_schema(get_settings().model_copy(update={"env": "development"})))
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def plugin_failure(exc: Exception) -> str:
    """A plugin that failed to load, in one line: which one, and why (the import error's own words)."""
    cause = exc.__cause__
    return str(exc).rstrip(".") + (f" ({cause})" if cause is not None and str(cause) else "")


def plugin_problems(precommit: str | None, validation: str | None) -> list[str]:
    """One line per configured plugin class that cannot be imported and instantiated, naming it and why."""
    from app.plugins import PluginError, load_plugin

    problems = []
    for field, path in (("plugins.precommit", precommit), ("plugins.validation", validation)):
        if not path:
            continue
        try:
            load_plugin(path)
        except PluginError as exc:
            problems.append(f"{field}: {plugin_failure(exc)}")
    return problems


def cmd_check_config(args: argparse.Namespace) -> int:
    from app.tenant_config import ConfigError, load_tenant_config_file

    try:
        config = load_tenant_config_file(args.file)
    except ConfigError as exc:
        print(f"{args.file}: configuration refused", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    problems = plugin_problems(config.plugins.precommit, config.plugins.validation)
    if problems:
        print(f"{args.file}: configuration refused", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    pm = config.producerManagement
    print(f"{args.file}: ok ({len(pm.producers)} producer types, {len(pm.producerCodes)} producer code types, "
          f"{len(pm.numberingPlans)} numbering plans, {len(config.jurisdictions)} jurisdictions)")
    return 0


@contextlib.asynccontextmanager
async def _sessions() -> AsyncIterator[Any]:
    """A one-connection session factory for a command, disposed when the command is done."""
    from persistence.db import create_engine, session_factory

    engine = create_engine(_url(), pool_size=1, max_overflow=0)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


def _refused(exc: Exception) -> int:
    """Print why a configuration or domain rule refused the command; exit status 1."""
    errors = getattr(exc, "errors", None)
    if errors:
        print("configuration refused:\n  " + "\n  ".join(errors), file=sys.stderr)
    else:
        print(getattr(exc, "message", str(exc)), file=sys.stderr)
    return 1


async def _tenant_create(name: str, raw: Any) -> Any:
    from app import tenants

    async with _sessions() as sessions:
        return await tenants.create_tenant(sessions, name, raw)


def cmd_tenant_create(args: argparse.Namespace) -> int:
    from app.errors import DomainError
    from app.plugins import PluginError
    from app.tenant_config import ConfigError, default_config_dict
    from persistence.migrate import upgrade

    raw = json.loads(Path(args.config).read_text()) if args.config else default_config_dict()
    upgrade(_url())
    try:
        tenant = asyncio.run(_tenant_create(args.name, raw))
    except (ConfigError, DomainError) as exc:
        return _refused(exc)
    except PluginError as exc:
        print(f"tenant {args.name!r} not created: {plugin_failure(exc)}", file=sys.stderr)
        return 1
    print(tenant.id)
    return 0


async def _tenant_update(name_or_id: str, raw: Any) -> Any:
    from app import tenants

    tenant_id = await _tenant_id(name_or_id)
    if tenant_id is None:
        return None
    async with _sessions() as sessions:
        return await tenants.update_tenant_config(sessions, tenant_id, raw)


def cmd_tenant_update(args: argparse.Namespace) -> int:
    from app.errors import DomainError
    from app.tenant_config import ConfigError

    raw = json.loads(Path(args.config).read_text())
    try:
        tenant = asyncio.run(_tenant_update(args.name, raw))
    except (ConfigError, DomainError) as exc:
        return _refused(exc)
    if tenant is None:
        print(f"no tenant named or identified {args.name!r}", file=sys.stderr)
        return 1
    print(f"{tenant.id}: configuration version {tenant.version} (other processes pick it up within 5 s)")
    return 0


async def _tenant_id(name_or_id: str) -> str | None:
    from persistence import tenants as store

    async with _sessions() as sessions:
        async with sessions() as session:
            record = await store.get_tenant(session, name_or_id) or await store.get_tenant_by_name(session, name_or_id)
            return record.id if record else None


def token_roles_problem(roles: list[str], agency: str | None) -> str | None:
    """Why these roles cannot make a usable token (an unknown role, an agency-scoped one without an agency)."""
    from app.auth import AGENCY_SCOPED, Role

    known = [role.value for role in Role]
    unknown = [role for role in roles if role not in known]
    if unknown or not roles:
        return f"unknown role {', '.join(unknown) or '(none given)'}: --roles takes {', '.join(known)}"
    scoped = [role for role in roles if role in AGENCY_SCOPED]
    if scoped and not agency:
        return (f"{', '.join(scoped)} is agency-scoped: add --agency LOCATOR (the agency producer's locator; "
                "READ_ONLY may have one too)")
    return None


def cmd_token(args: argparse.Namespace) -> int:
    from app.auth import mint_token

    roles = [r.strip().upper() for r in args.roles.split(",") if r.strip()]
    problem = token_roles_problem(roles, args.agency)
    if problem:
        print(f"token refused: {problem}", file=sys.stderr)
        return 2
    tenant_id = args.tenant if args.no_lookup else asyncio.run(_tenant_id(args.tenant))
    if tenant_id is None:
        print(f"no tenant named or identified {args.tenant!r}", file=sys.stderr)
        return 1
    print(mint_token(get_settings(), tenant_id=tenant_id, roles=roles, subject=args.subject, agency=args.agency,
                     ttl_seconds=args.ttl))
    return 0


async def _registry_import(tenant: str, path: Path) -> Any:
    from app.pii import SsnVault
    from app.registry import import_file

    tenant_id = await _tenant_id(tenant)
    if tenant_id is None:
        return None
    async with _sessions() as sessions:
        return await import_file(sessions, tenant_id, path,
                                 SsnVault.from_setting(get_settings().ssn_key_or_dev))


def sync_report(changes: dict[str, int]) -> str:
    """What the sync changed in onboarded producers, by kind, every kind named (zero included)."""
    from app.rules.registry_sync import LICENSE_KINDS, PRODUCER_UPDATED

    total = sum(changes.values())
    kinds = ", ".join(f"{kind} {changes.get(kind, 0)}" for kind in (*LICENSE_KINDS, PRODUCER_UPDATED))
    return f"synced onboarded producers: {total} changes ({kinds})"


def cmd_registry_import(args: argparse.Namespace) -> int:
    from app.errors import DomainError
    from persistence.migrate import upgrade

    upgrade(_url())
    try:
        summary = asyncio.run(_registry_import(args.tenant, Path(args.file)))
    except DomainError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    if summary is None:
        print(f"no tenant named or identified {args.tenant!r}", file=sys.stderr)
        return 1
    for error in summary.errors:
        print(f"  skipped {error}", file=sys.stderr)
    print(f"imported {summary.producers} registry producers with {summary.licenses} licenses"
          + (f"; {len(summary.errors)} rows skipped" if summary.errors else ""))
    print(sync_report(summary.changes))
    return 1 if summary.errors else 0


def cmd_registry_sample(args: argparse.Namespace) -> int:
    from app.registry import sample_entries, write_extract

    count = write_extract(Path(args.out), sample_entries(args.count, seed=args.seed))
    print(f"wrote {count} sample registry producers to {args.out}")
    return 0


async def _compliance_digest(any_hour: bool) -> int:
    from app.runtime.compliance_digests import ComplianceDigests

    async with _sessions() as sessions:
        return await ComplianceDigests(get_settings(), sessions).run_once(any_hour=any_hour)


async def _compliance_sweep(force: bool) -> int:
    from app.runtime.compliance_digests import ComplianceDigests

    async with _sessions() as sessions:
        return await ComplianceDigests(get_settings(), sessions).sweep_once(any_hour=True, force=force)


def cmd_compliance_sweep(args: argparse.Namespace) -> int:
    """Raise the compliance alerts that entered a window to webhooks now (the server's loop does it once a day)."""
    from persistence.migrate import upgrade

    upgrade(_url())
    raised = asyncio.run(_compliance_sweep(args.now))
    print(f"raised {raised} compliance alerts")
    return 0


def cmd_compliance_digest(args: argparse.Namespace) -> int:
    """Send the agencies' compliance digests due today now (the server's loop does it every few minutes)."""
    from persistence.migrate import upgrade

    upgrade(_url())
    sent = asyncio.run(_compliance_digest(args.now))
    print(f"sent {sent} compliance digests")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import httpx

    from app.runtime.demo import DemoError, run

    try:
        asyncio.run(run(get_settings(), url=args.url))
    except DemoError as exc:
        print(f"demo refused: {exc}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(f"demo stopped: the server stopped answering ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="producer-graph", description="Producer Graph: GraphQL producer management.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the server (embedded PostgreSQL unless DATABASE_URL is set)")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--workers", type=int, default=1)
    s.set_defaults(fn=cmd_serve)

    m = sub.add_parser("migrate", help="apply the database migrations")
    m.add_argument("--revision", default="head")
    m.set_defaults(fn=cmd_migrate)

    e = sub.add_parser("export-schema", help="print the GraphQL SDL")
    e.add_argument("--output", "-o")
    e.set_defaults(fn=cmd_export_schema)

    c = sub.add_parser("check-config", help="validate a tenant configuration file")
    c.add_argument("file")
    c.set_defaults(fn=cmd_check_config)

    t = sub.add_parser("tenant", help="manage tenants")
    tsub = t.add_subparsers(dest="tenant_command", required=True)
    tc = tsub.add_parser("create", help="create a tenant; prints its id")
    tc.add_argument("name")
    tc.add_argument("--config", help="configuration JSON (default: the shipped default configuration)")
    tc.set_defaults(fn=cmd_tenant_create)
    tu = tsub.add_parser("update", help="replace a tenant's configuration (refused if it drops a type in use)")
    tu.add_argument("name", help="tenant name or id")
    tu.add_argument("--config", required=True, help="configuration JSON")
    tu.set_defaults(fn=cmd_tenant_update)

    k = sub.add_parser("token", help="mint a development JWT")
    k.add_argument("--tenant", required=True, help="tenant name or id")
    k.add_argument("--roles", default="TENANT_ADMIN", help="comma-separated roles")
    k.add_argument("--agency", help="agency producer locator, for agency-scoped roles")
    k.add_argument("--subject", default="dev")
    k.add_argument("--ttl", type=int, default=3600 * 8, help="lifetime in seconds")
    k.add_argument("--no-lookup", action="store_true", help="use --tenant as the id without a database look-up")
    k.set_defaults(fn=cmd_token)
    r = sub.add_parser("registry", help="the producer registry (a NIPR-style extract) used by onboarding")
    rsub = r.add_subparsers(dest="registry_command", required=True)
    ri = rsub.add_parser("import", help="load a CSV or JSON extract (docs/registry-format.md) into a tenant")
    ri.add_argument("file")
    ri.add_argument("--tenant", required=True, help="tenant name or id")
    ri.set_defaults(fn=cmd_registry_import)
    rs = rsub.add_parser("sample", help="write a realistic sample extract (.csv or .json) for demos and tests")
    rs.add_argument("out")
    rs.add_argument("--count", type=int, default=2000)
    rs.add_argument("--seed", type=int, default=7)
    rs.set_defaults(fn=cmd_registry_sample)

    cp = sub.add_parser("compliance", help="compliance alerts: the daily sweep raising them to webhooks, the agencies' "
                        "daily digest emails")
    csub = cp.add_subparsers(dest="compliance_command", required=True)
    cd = csub.add_parser("digest", help="send today's digests not sent yet (once per agency and day, whichever "
                         "process or command takes the lease)")
    cd.add_argument("--now", action="store_true", help="do not wait for COMPLIANCE_DIGEST_HOUR")
    cd.set_defaults(fn=cmd_compliance_digest)
    cw = csub.add_parser("sweep", help="raise the alerts that entered a window to webhooks (complianceAlert.raised), "
                         "once per credential, window and expiration date, whatever process or command raises it")
    cw.add_argument("--now", action="store_true", help="sweep every tenant now, even one swept today (alerts raised "
                    "already are not raised again); without it, only the tenants not swept today")
    cw.set_defaults(fn=cmd_compliance_sweep)

    d = sub.add_parser("demo", help="create (or complete) the demo tenant; prints tokens per role and a GraphiQL link "
                       "(idempotent)")
    d.add_argument("--url", help="the server to build through and link to (default http://HOST:PORT of the settings); "
                   "when none answers there, the demo is built in-process")
    d.set_defaults(fn=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    raise SystemExit(main())
