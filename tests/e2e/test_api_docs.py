"""The API docs page renders Swagger UI offline: every script, style and font from our own server (issue 14 item
8). The browser refuses any request to another host, as a closed network would."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import login

pytestmark = pytest.mark.e2e


def test_api_docs_render_offline_for_a_logged_in_user(page, demo, shots):
    base = demo.url
    outside: list[str] = []

    def only_our_server(route):
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route(re.compile(".*"), only_our_server)
    page.goto(f"{base}/api/docs/")
    assert page.url.startswith(f"{base}/admin/login/")  # not logged in: the login page first

    login(page, base, "billing")
    page.goto(f"{base}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("mild® billing helper API")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/claims/check").first).to_be_visible()
    page.screenshot(path=str(shots / "api-docs.png"), full_page=False)
    assert outside == [], outside
