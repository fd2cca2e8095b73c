"""The floor: the same data as the GraphQL page, read by one hand-written SQL statement and orjson."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from persistence.db import sync_url

PAGE_SQL = """
SELECT coalesce(json_agg(row_to_json(t)), '[]') FROM (
  SELECT p.id, coalesce(p.organization_name, p.first_name || ' ' || p.last_name) AS name, p.state,
    (SELECT json_build_object('id', pp.id, 'name', coalesce(pp.organization_name, pp.first_name || ' ' || pp.last_name))
       FROM producers pp WHERE pp.id = p.parent_id) AS parent,
    (SELECT coalesce(json_agg(json_build_object('id', a.id, 'name', coalesce(a.organization_name,
            a.first_name || ' ' || a.last_name)) ORDER BY array_position(p.ancestry, a.id)), '[]')
       FROM producers a WHERE a.id = ANY(p.ancestry)) AS ancestors,
    (SELECT coalesce(json_agg(json_build_object('code', c.code, 'state', c.state) ORDER BY c.id), '[]')
       FROM producer_codes c WHERE c.producer_id = p.id) AS codes,
    (SELECT coalesce(json_agg(json_build_object('licenseNumber', l.license_number, 'jurisdictions', l.jurisdictions,
            'state', l.state) ORDER BY l.id), '[]')
       FROM licenses l WHERE l.producer_id = p.id) AS licenses
  FROM producers p WHERE p.tenant_id = $1 ORDER BY p.id LIMIT 100) t
"""
NODE_SQL = """SELECT json_build_object('id', id, 'name', coalesce(organization_name, first_name || ' ' || last_name),
  'state', state) FROM producers WHERE tenant_id = $1 AND id = $2"""

pool: asyncpg.Pool | None = None


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(sync_url(os.environ["DATABASE_URL"]), min_size=2, max_size=10)
    yield
    await pool.close()


async def page(request: Request) -> Response:
    assert pool is not None
    raw = await pool.fetchval(PAGE_SQL, os.environ["BENCH_TENANT"])
    return Response(orjson.dumps({"data": {"producers": orjson.loads(raw)}}), media_type="application/json")


async def node(request: Request) -> Response:
    assert pool is not None
    raw = await pool.fetchval(NODE_SQL, os.environ["BENCH_TENANT"], request.path_params["id"])
    return Response(orjson.dumps({"data": {"node": orjson.loads(raw) if raw else None}}),
                    media_type="application/json")


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


app = Starlette(routes=[Route("/page", page), Route("/node/{id}", node), Route("/healthz", healthz)],
                lifespan=lifespan)
