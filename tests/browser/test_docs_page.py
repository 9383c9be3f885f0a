"""/docs in real headless Chromium: Swagger UI renders the API from this service's own files under the
Content-Security-Policy (no inline scripts), with no request to another host and no policy violation."""

from __future__ import annotations

from playwright.sync_api import Browser, ConsoleMessage, expect

from tests.browser.test_reader_page import browser  # noqa: F401 (fixture)
from tests.conftest import RunningService


def test_docs_render_offline_under_the_policy(browser: Browser, service: RunningService) -> None:  # noqa: F811
    page = browser.new_page()
    outside: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((service.url, "data:", "blob:")) else outside.append(r.url))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.goto(service.url + "/docs")
    expect(page.locator(".opblock-summary-path").filter(has_text="/v1/verify").first).to_be_visible(timeout=20_000)
    page.close()
    assert outside == [], f"/docs requested other hosts: {outside}"
    assert problems == [], problems
