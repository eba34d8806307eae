"""The API documentation page: Swagger UI from the node's own files, working under its CSP."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import ConsoleMessage, Page, Request, expect

from tests.conftest import Account
from tests.web.conftest import log_in
from tests.web.test_pages import login

ASSETS = {
    "/static/swagger/swagger-ui.css": "text/css",
    "/static/swagger/swagger-ui-bundle.js": "javascript",
    "/static/swagger/init.js": "javascript",
}


def test_the_page_uses_only_the_nodes_own_files(client: TestClient) -> None:
    r = client.get("/api/v1/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    assert "<title>Indivisible API</title>" in r.text
    assert '<div id="swagger-ui">' in r.text
    # The CSP refuses inline scripts and styles, so the page must not depend on any.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text)
    assert "<style" not in r.text and "style=" not in r.text
    assert "csrf-token" not in r.text
    assert "cdn" not in r.text.lower() and "//" not in r.text.replace("data:,", "")
    assert '<link rel="stylesheet" href="/static/swagger/swagger-ui.css">' in r.text
    assert '<script src="/static/swagger/swagger-ui-bundle.js"></script>' in r.text
    assert '<script src="/static/swagger/init.js"></script>' in r.text
    for url, kind in ASSETS.items():
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert b"sourceMappingURL" not in asset.content, url
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_the_page_is_not_in_the_description(client: TestClient) -> None:
    assert "/api/v1/docs" not in client.get("/api/v1/openapi.json").json()["paths"]


def test_a_session_gets_its_csrf_token_and_can_write_with_it(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    login(client, accounts["liaison"])
    r = client.get("/api/v1/docs")
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', r.text)
    assert r.status_code == 200 and token
    written = client.post(
        "/api/v1/auth/tokens", json={"name": "from-docs"}, headers={"X-CSRF-Token": token[1]}
    )
    assert written.status_code == 201, written.text


def test_a_stale_session_cookie_still_gets_the_page(client: TestClient) -> None:
    client.cookies.set("indivisible_session", "no-such-session")
    r = client.get("/api/v1/docs")
    assert r.status_code == 200 and "csrf-token" not in r.text


def watch(page: Page, base: str) -> list[str]:
    """Console errors, CSP refusals, failed loads and requests that left the node (which an
    offline node cannot make), as they happen."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or any(
            word in message.text for word in ("Content Security Policy", "Refused")
        ):
            problems.append(message.text)

    def on_request(request: Request) -> None:
        if not request.url.startswith((f"{base}/", "data:")):
            problems.append(f"left the node: {request.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    page.on("request", on_request)
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status}: {response.url}")
            if response.status >= 400
            else None
        ),
    )
    return problems


@pytest.mark.browser
def test_swagger_ui_renders_under_the_csp(live_node: str, page: Page) -> None:
    problems = watch(page, live_node)
    response = page.goto(f"{live_node}/api/v1/docs")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page).to_have_title("Indivisible API")
    expect(page.get_by_text("/api/v1/registry/organisations", exact=True).first).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
    # A click exercises React after the first render, where a blocked style or eval would show.
    page.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock.is-open").first).to_be_visible()
    assert problems == []


@pytest.mark.browser
def test_try_it_out_writes_with_the_session_and_its_csrf_token(live_node: str, page: Page) -> None:
    log_in(page, live_node, "/api/v1/docs")
    expect(page).to_have_url(f"{live_node}/api/v1/docs")
    # Swagger UI fetches the description after the page's load event; a reload while that fetch
    # is in flight aborts it, which the watcher would see as a failed request of this page.
    expect(page.locator("#operations-auth-create_token_api_v1_auth_tokens_post")).to_be_visible()
    # Watched from a fresh load: the login page's own favicon 404 is not this page's concern.
    problems = watch(page, live_node)
    page.reload()
    operation = page.locator("#operations-auth-create_token_api_v1_auth_tokens_post")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    with page.expect_response(
        lambda response: (
            response.url.endswith("/api/v1/auth/tokens") and response.request.method == "POST"
        )
    ) as answered:
        operation.get_by_role("button", name="Execute").click()
    assert answered.value.request.headers.get("x-csrf-token", "").startswith("c_")
    assert answered.value.status == 201
    # Swagger UI shows the node's answer, not an error of its own.
    expect(operation.locator(".live-responses-table tbody .response-col_status")).to_have_text(
        "201"
    )
    assert problems == []
