"""GraphiQL in a real browser, offline: headless Chromium opens the demo's `#token=` link on a real uvicorn with
every request off 127.0.0.1 blocked, runs the prefilled query and sees the demo's agencies."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from app.runtime.graphiql import link


async def test_graphiql_runs_the_prefilled_query_offline_with_the_token_from_the_link(offline_browser, api_server,
                                                                                     tmp_path):
    # given the link the demo prints, carrying the demo admin's token in its fragment
    token = api_server.tokens["TENANT_ADMIN"]
    browser = offline_browser
    page = browser.page

    # when GraphiQL opens from it and its run button is clicked
    response = await page.goto(link(api_server.url, token))
    assert response is not None and response.status == 200
    assert token not in await response.text()
    run = page.locator("button.graphiql-execute-button")
    await run.wait_for(timeout=30_000)
    assert "query DemoAgencies" in await page.locator(".graphiql-query-editor").inner_text()
    await run.click()

    # then the result pane shows the demo's data, fetched with the token the page moved into its headers
    result = page.locator(".result-window")
    await result.get_by_text("Northwind Insurance Agency").wait_for(timeout=30_000)
    shown = (await result.inner_text()).replace("\xa0", " ")  # the editor shows the lines in view only
    assert '"totalCount": 2' in shown and '"errors"' not in shown
    assert token not in page.url and urlsplit(page.url).fragment == ""
    await page.screenshot(path=tmp_path / "graphiql.png", full_page=True)
    print(f"screenshot: {tmp_path / 'graphiql.png'}")
    assert (tmp_path / "graphiql.png").stat().st_size > 10_000

    # and nothing tried to leave 127.0.0.1, nothing failed on the page
    assert browser.left_loopback == [] and browser.errors == []
    assert browser.requests and all(urlsplit(u).hostname == "127.0.0.1" for u in browser.requests + browser.sockets)


async def test_the_served_graphiql_page_holds_no_token(api_server):
    async with httpx.AsyncClient(base_url=api_server.url) as http:
        page = (await http.get("/graphql", headers={"Accept": "text/html"})).text
    assert "GraphiQL" in page
    assert all(token not in page for token in api_server.tokens.values())
    assert "Bearer ey" not in page and "eyJ" not in page


async def test_graphiql_subscribes_over_websocket_with_the_token_from_the_link(offline_browser, api_server):
    # given GraphiQL opened from the demo's link
    page = offline_browser.page
    await page.goto(link(api_server.url, api_server.tokens["TENANT_ADMIN"]))
    run = page.locator("button.graphiql-execute-button")
    await run.wait_for(timeout=30_000)

    # when the query editor holds a subscription to the demo's finished bulk job and it is run
    job_id = api_server.demo.values["bulkJobId"]
    subscription = (f'subscription DemoJobProgress {{ bulkOnboardingProgress(jobId: "{job_id}") '
                    '{ status total processed } }')
    await page.evaluate("(text) => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
                        ".setValue(text)", subscription)
    # GraphiQL parses the editor 100 ms after a change; it stores the operation's name once it has
    await page.wait_for_function("() => Object.keys(localStorage).some(key => key.endsWith('operationName')"
                                 " && localStorage.getItem(key) === 'DemoJobProgress')", timeout=30_000)
    await run.click()

    # then its event arrives over the WebSocket, authenticated by the connection_init payload
    result = page.locator(".result-window")
    await result.get_by_text("COMPLETED").wait_for(timeout=30_000)
    shown = (await result.inner_text()).replace("\xa0", " ")
    assert '"processed": 7' in shown and '"errors"' not in shown
    assert [urlsplit(u).path for u in offline_browser.sockets] == ["/graphql"]
    assert offline_browser.left_loopback == [] and offline_browser.errors == []
