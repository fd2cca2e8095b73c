"""GraphiQL in development: the project's page, its assets served by the app itself with long-lived cache
headers and their licenses beside them, no outside host, no token in the page."""

from __future__ import annotations

import re

from app.runtime.graphiql import ASSETS_DIR, ASSETS_PATH, EXAMPLE_QUERY

REFERENCE = re.compile(r'(?:src|href)="([^"]+)"')
HTML = {"Accept": "text/html"}


async def test_graphiql_page_references_only_assets_the_server_serves_for_a_year(http):
    page = (await http.get("/graphql", headers=HTML)).text
    references = [r for r in REFERENCE.findall(page) if not r.startswith("data:")]
    assert len(references) == 6  # React, ReactDOM, GraphiQL's script and style, the explorer's script and style
    assert all(r.startswith(f"{ASSETS_PATH}/") for r in references), references
    assert "://" not in page
    for reference in references:
        response = await http.get(reference)
        assert response.status_code == 200, reference
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        expected = "text/css" if reference.endswith(".css") else "javascript"
        assert expected in response.headers["content-type"], reference


async def test_every_graphiql_asset_ships_with_its_license():
    packages = [d for d in ASSETS_DIR.iterdir() if d.is_dir()]
    assert {d.name for d in packages} == {"react-18.2.0", "react-dom-18.2.0", "graphiql-3.8.3",
                                          "plugin-explorer-1.0.2"}
    for package in packages:
        assert "MIT License" in (package / "LICENSE").read_text(), package.name


async def test_graphiql_page_holds_no_token_whoever_asks(http, new_tenant):
    tenant = await new_tenant()
    anonymous = await http.get("/graphql", headers=HTML)
    authenticated = await http.get("/graphql", headers={**HTML, "Authorization": f"Bearer {tenant.admin}"})
    assert anonymous.status_code == authenticated.status_code == 200
    assert anonymous.text == authenticated.text
    assert "eyJ" not in anonymous.text and "Bearer ey" not in anonymous.text
    assert anonymous.headers["cache-control"] == "no-cache"


async def test_graphiql_page_opens_with_the_example_query(http):
    page = (await http.get("/graphql", headers=HTML)).text
    assert "query DemoAgencies" in page
    assert page.count("\\n") >= EXAMPLE_QUERY.count("\n")  # the query as one JavaScript string literal


async def test_an_unknown_asset_is_not_found(http):
    response = await http.get(f"{ASSETS_PATH}/graphiql-0.0.1/graphiql.min.js")
    assert response.status_code == 404


async def test_graphiql_page_lets_the_browser_load_from_this_server_only(http):
    response = await http.get("/graphql", headers=HTML)
    policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == policy["connect-src"] == "'self'"
    assert policy["script-src"].startswith("'self' 'sha256-") and "unsafe" not in policy["script-src"]
    assert policy["frame-ancestors"] == "'none'"
