"""The browser is there: in CI (CI=true) a missing Chromium or Playwright fails the run instead of skipping."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_chromium_launches(browser: object, server: str) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser) and browser.is_connected()
    context = browser.new_context(base_url=server)
    try:
        page = context.new_page()
        response = page.goto("/health")
        assert response is not None and response.status == 200
        assert '"status":"ok"' in page.content().replace(" ", "")
    finally:
        context.close()
