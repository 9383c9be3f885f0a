"""The reader page in real headless Chromium (Debian's), driven by Playwright, against the running service."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import PUBLISHER_DOMAIN, PUBLISHER_NAME, Published

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail("Debian chromium is not installed: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, published: Published) -> Iterator[Page]:
    page = browser.new_page()
    outside: list[str] = []
    local = (published.service.url, "blob:", "data:")
    page.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
    page.goto(published.service.url + "/")
    yield page
    page.close()
    assert outside == [], f"the page requested other hosts: {outside}"


def upload(page: Page, path: Path) -> None:
    page.set_input_files("#file", str(path))
    expect(page.locator("#result")).to_have_attribute("data-state", "done", timeout=20_000)


def test_registered_image_shows_as_original_with_publisher(page: Page, published: Published) -> None:
    upload(page, published.image)
    expect(page.locator("#result")).to_have_attribute("data-verdict", "original")
    verdict = page.locator("#verdict").inner_text()
    assert verdict.startswith(f"Registered original: published by {PUBLISHER_NAME} ({PUBLISHER_DOMAIN}) on ")
    assert "Rain on a city street" in verdict
    assert "Index up to date" in page.locator("#freshness").inner_text()
    # The service started its own anvil: a development chain, where anyone on the machine can send as the publisher.
    expect(page.locator("#dev-chain")).to_be_visible()
    assert page.locator("#dev-chain").inner_text().startswith("Development chain: anyone on this machine can write to it")
    tx_line = page.locator(".match-tx").first
    assert tx_line.get_attribute("data-tx-hash", timeout=5_000).startswith("0x")
    expect(page.locator("#chain")).to_contain_text("on chain 31337")


def test_unknown_and_resaved_images(page: Page, published: Published, pdq_fixtures: Path, tmp_path: Path) -> None:
    upload(page, pdq_fixtures / "reg-test-input" / "labelme-subset" / "q0291.jpg")
    expect(page.locator("#result")).to_have_attribute("data-verdict", "unknown")
    assert page.locator("#verdict").inner_text().startswith("No registered original found.")

    resaved = tmp_path / "resaved.png"
    Image.open(published.image).save(resaved, format="PNG")
    upload(page, resaved)
    expect(page.locator("#result")).to_have_attribute("data-verdict", "same_pixels")
    assert page.locator("#verdict").inner_text().startswith(f"Same pixels as a registered original: published by {PUBLISHER_NAME}")


def test_a_file_that_is_not_an_image_shows_the_error(page: Page, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.jpg"
    bogus.write_bytes(b"this is text, not a photo")
    upload(page, bogus)
    expect(page.locator("#error")).to_contain_text("not an image")


def test_edited_copy_shows_where_it_changed(page: Page, published: Published, tmp_path: Path) -> None:
    """A red box painted over the registered photo: the page says "Edited copy" and lays the server's heatmap and
    the changed area's outline over the reader's own image."""
    from PIL import ImageDraw

    from tests.conftest import wait_for

    edited = tmp_path / "edited.jpg"
    image = Image.open(published.image).convert("RGB")
    ImageDraw.Draw(image).rectangle([150, 150, 230, 210], fill=(240, 30, 30))
    image.save(edited, quality=90)

    def is_edited() -> bool:  # the API's match index follows the mirror within a poll (0.5 s)
        upload(page, edited)
        return page.locator("#result").get_attribute("data-verdict") == "edited"

    wait_for(is_edited, timeout=20)
    verdict = page.locator("#verdict").inner_text()
    assert verdict.startswith(f"Edited copy of a registered original: published by {PUBLISHER_NAME}")
    expect(page.locator("#changes")).to_be_visible()
    heatmap = page.locator("#changes-heatmap")
    expect(heatmap).to_have_attribute("src", re.compile(r"v1/verify/v_[\w-]+/diff\.png$"))
    page.wait_for_function("document.getElementById('changes-heatmap').complete && "
                           "document.getElementById('changes-heatmap').naturalWidth > 0")  # fmt: skip
    box = page.locator(".changes-box").first
    style = box.get_attribute("style") or ""
    left = float(re.search(r"left: ([\d.]+)%", style).group(1))  # type: ignore[union-attr]
    assert 50 < left < 65, style
    page.locator("#changes-toggle").click()
    expect(heatmap).to_be_hidden()
