"""GraphiQL in development: the project's own page and its assets (React, GraphiQL, the explorer plugin), shipped
in the package and served by the app, so it works offline and references no outside host.

The page holds no token. A link `/graphql#token=<jwt>` (what `producer-graph demo` prints) hands one to the
browser: the page moves it into GraphiQL's headers, sent with every HTTP request and merged into the WebSocket's
`connection_init` payload, then clears the fragment. Fragments never reach the server or its logs.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from string import Template

from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

ASSETS_PATH = "/graphiql/assets"
ASSETS_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
TEMPLATE = Path(__file__).resolve().with_suffix(".html")
BOOTSTRAP = Path(__file__).resolve().with_suffix(".js")
IMMUTABLE = "public, max-age=31536000, immutable"  # every asset path names its package's version

EXAMPLE_QUERY = """# The tenant's root agencies with their sub-agencies,
# agents, codes and licenses. Run it with the button
# (or Ctrl-Enter). The Authorization header (Headers,
# below) comes from the link `producer-graph demo`
# prints; or write {"Authorization": "Bearer <jwt>"}.
query DemoAgencies {
  producers(first: 5, filter: {rootOnly: true}) {
    totalCount
    nodes {
      id name type state
      codes(first: 3) { nodes { code state } }
      children(first: 5) {
        nodes {
          name state
          children(first: 5) {
            nodes {
              name type state
              codes(first: 3) { nodes { code state } }
              licenses(first: 5) { nodes { licenseNumber jurisdictions linesOfAuthority state } }
            }
          }
        }
      }
    }
  }
}
"""


class ImmutableStaticFiles(StaticFiles):
    """Static files a browser may keep for a year: a new version of an asset is a new path."""

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = IMMUTABLE
        return response


def assets() -> Mount:
    """The route serving GraphiQL's assets (mounted outside production only)."""
    return Mount(ASSETS_PATH, app=ImmutableStaticFiles(directory=ASSETS_DIR), name="graphiql-assets")


def _script_literal(value: str) -> str:
    """A JavaScript string literal that is safe inside an inline <script> element."""
    return json.dumps(value).replace("<", "\\u003c")


@dataclass(frozen=True)
class Page:
    html: str
    policy: str  # Content-Security-Policy: this server only, and no inline script but the page's own


@functools.cache
def built_page() -> Page:
    bootstrap = Template(BOOTSTRAP.read_text(encoding="utf-8")).substitute(example_query=_script_literal(EXAMPLE_QUERY))
    digest = base64.b64encode(hashlib.sha256(bootstrap.encode()).digest()).decode()
    html = Template(TEMPLATE.read_text(encoding="utf-8")).substitute(assets=ASSETS_PATH, bootstrap=bootstrap)
    policy = (f"default-src 'self'; script-src 'self' 'sha256-{digest}'; style-src 'self' 'unsafe-inline'; "
              "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'none'")
    return Page(html, policy)


def page() -> HTMLResponse:
    """The GraphiQL page: the same bytes for every caller (no token, no tenant data)."""
    built = built_page()
    return HTMLResponse(built.html, headers={"Cache-Control": "no-cache", "Content-Security-Policy": built.policy})


def link(base_url: str, token: str) -> str:
    """The address that opens GraphiQL with `token` in its headers (the fragment stays in the browser)."""
    return f"{base_url.rstrip('/')}/graphql#token={token}"
