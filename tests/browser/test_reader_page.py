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


def test_content_credentials_of_the_readers_image(page: Page, c2pa_fixtures: Path) -> None:
    """Issue 13: a C2PA manifest in the reader's image is shown with its signer and, when broken, every failing
    check."""
    upload(page, c2pa_fixtures / "adobe-20220124-CAI.jpg")
    section = page.locator("#credentials")
    expect(section).to_have_attribute("data-state", "valid")
    assert section.locator("#credentials-state").inner_text().startswith("Valid: the signature and the image's binding hold.")
    facts = section.locator("#credentials-facts").inner_text()
    assert "C2PA Signer (C2PA Test Signing Cert)" in facts and "A.jpg (parentOf), I.jpg (componentOf)" in facts

    upload(page, c2pa_fixtures / "adobe-20220124-E-dat-CA.jpg")
    expect(section).to_have_attribute("data-state", "invalid")
    expect(section.locator(".credentials-failure")).to_have_count(2)
    assert "assertion.dataHash.mismatch" in section.locator("#credentials-failures").inner_text()

    upload(page, c2pa_fixtures / "adobe-20220124-A.jpg")
    expect(section).to_be_hidden()


def test_a_copy_stripped_of_the_originals_credentials(page: Page, published: Published, tmp_path: Path) -> None:
    """Issue 13: a file registered with Content Credentials (c2pa=true), then the same pixels without them: the page
    says the credentials were removed, who signed the original's, and shows what it carried."""
    import httpx

    from tests.c2pa.jpeg import strip_c2pa
    from tests.conftest import wait_for
    from tests.e2e.test_newsroom_custody import picture

    service = published.service
    assert service.cli("c2pa", "test-signer", PUBLISHER_DOMAIN).returncode == 0
    source = picture(900, tmp_path / "storm.jpg")
    headers = {"Authorization": f"Bearer {published.api_key}"}
    response = httpx.post(f"{service.url}/v1/media", headers=headers, files={"file": (source.name, source.read_bytes())},
                          data={"caption": "Storm over the pier", "credit": "Staff", "c2pa": "true"}, timeout=60)  # fmt: skip
    assert response.status_code == 202, response.text
    body = response.json()
    signed = httpx.get(service.url + body["file_url"], headers=headers).content
    wait_for(lambda: httpx.get(f"{service.url}/v1/verify/{body['content_hash']}").json()["verdict"] == "original", timeout=60)
    stripped = tmp_path / "stripped.jpg"
    stripped.write_bytes(strip_c2pa(signed))

    def is_found() -> bool:  # the API's match index follows the mirror within a poll (0.5 s)
        upload(page, stripped)
        return page.locator("#result").get_attribute("data-verdict") == "same_pixels"

    wait_for(is_found, timeout=20)
    note = page.locator("#credentials-removed")
    expect(note).to_be_visible()
    assert note.inner_text().startswith("Content Credentials were removed from this copy; the original carried them, "
                                        f"signed by {PUBLISHER_DOMAIN} TEST signer ({PUBLISHER_NAME}), and this "
                                        "ledger recorded it at ")  # fmt: skip
    section = page.locator("#credentials")
    expect(section).to_have_attribute("data-state", "removed")
    assert section.locator("#credentials-heading").inner_text() == "Content Credentials (C2PA) the original carried"
    assert "Ledger registration" in section.locator("#credentials-facts").inner_text()


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


def test_two_publishers_and_one_retraction(page: Page, published: Published, pdq_fixtures: Path) -> None:
    """Issue 12: Beta registers a photo a minute before Alpha, then retracts. The page names both publishers, labels
    Beta's registration as the earliest (not as the owner), shows each caption, and marks only Beta's record
    retracted; the verdict stays "Registered original"."""
    import httpx

    from tests.conftest import wait_for

    service = published.service
    beta_key, alpha_key = service.add_publisher("Beta Wire", "beta.example"), service.add_publisher("Alpha Daily", "alpha.example")
    # A photo no other test of the shared service needs unregistered (test_unrelated_photo_is_unknown uses q0122).
    image = pdq_fixtures / "reg-test-input" / "labelme-subset" / "q0004.jpg"
    url = service.url

    def register_and_wait(key: str, caption: str) -> str:
        response = httpx.post(f"{url}/v1/media", headers={"Authorization": f"Bearer {key}"},
                              files={"file": (image.name, image.read_bytes(), "image/jpeg")},
                              data={"caption": caption, "credit": "Staff"}, timeout=30)  # fmt: skip
        assert response.status_code == 202, response.text
        content_hash = response.json()["content_hash"]
        wait_for(lambda: httpx.get(f"{url}/v1/media/{content_hash}",
                                   headers={"Authorization": f"Bearer {key}"}).json()["status"] == "anchored")  # fmt: skip
        return content_hash

    content_hash = register_and_wait(beta_key, "Riot downtown")
    register_and_wait(alpha_key, "Protest at city hall")
    retract = httpx.post(f"{url}/v1/media/{content_hash}/retract", headers={"Authorization": f"Bearer {beta_key}"},
                         json={"reason_code": 1, "reason": "Not our photo."})  # fmt: skip
    assert retract.status_code == 202, retract.text
    wait_for(lambda: any(m["retracted"] for m in httpx.get(f"{url}/v1/verify/{content_hash}").json()["matches"]))

    upload(page, image)
    expect(page.locator("#result")).to_have_attribute("data-verdict", "original")
    verdict = page.locator("#verdict").inner_text()
    assert verdict == "Registered original: registered by Beta Wire (beta.example) and Alpha Daily (alpha.example).", verdict
    note = page.locator("#verdict-note").inner_text()
    assert "The earliest registration is Beta Wire (beta.example)'s" in note and "does not show who took or owns" in note
    assert "Beta Wire (beta.example) retracted its registration; that changes only its own record" in note
    assert "owner" not in verdict.lower() and "origin" not in page.locator("#matches").inner_text().lower()
    beta, alpha = page.locator(".match").nth(0), page.locator(".match").nth(1)
    expect(beta.locator(".match-publisher")).to_have_text("Beta Wire (beta.example)")
    expect(beta.locator(".badge-earliest")).to_have_text("Earliest registration")
    expect(beta.locator(".match-caption")).to_have_text("Riot downtown")
    expect(beta.locator(".match-retracted")).to_contain_text("Not our photo.")
    expect(alpha.locator(".match-publisher")).to_have_text("Alpha Daily (alpha.example)")
    expect(alpha.locator(".badge").first).to_have_text("Registered later")
    expect(alpha.locator(".match-caption")).to_have_text("Protest at city hall")
    expect(alpha.locator(".match-retracted")).to_have_count(0)
    expect(alpha.locator(".badge-retracted")).to_have_count(0)


def test_lineage_and_a_corrected_version(page: Page, published: Published, tmp_path: Path) -> None:
    """Issue 12: a crop registered with its parent, then the original retracted naming a corrected image: the page
    shows "Derived into" on the original and points its readers to the corrected version."""
    import httpx

    from tests.conftest import wait_for
    from tests.e2e.test_newsroom_custody import picture

    url, key = published.service.url, published.api_key
    headers = {"Authorization": f"Bearer {key}"}
    original, crop, corrected = picture(300, tmp_path / "o.jpg"), tmp_path / "c.jpg", picture(301, tmp_path / "k.jpg")
    Image.open(original).crop((0, 0, 480, 360)).save(crop, quality=90)

    def register(path: Path, caption: str, **extra: str) -> dict:  # type: ignore[type-arg]
        response = httpx.post(f"{url}/v1/media", headers=headers, files={"file": (path.name, path.read_bytes())},
                              data={"caption": caption, "credit": "Staff", **extra}, timeout=30)  # fmt: skip
        assert response.status_code == 202, response.text
        body = response.json()
        wait_for(lambda: httpx.get(f"{url}/v1/media/{body['content_hash']}", headers=headers).json()["status"] == "anchored")
        return body  # type: ignore[no-any-return]

    first = register(original, "Market square at noon")
    register(crop, "Detail of the market", parent=first["uid"])
    fixed = register(corrected, "Market square at noon (corrected date)")
    response = httpx.post(f"{url}/v1/media/{first['content_hash']}/retract", headers=headers,
                          json={"reason_code": 1, "reason": "Wrong date.", "successor": fixed["uid"]})  # fmt: skip
    assert response.status_code == 202, response.text
    wait_for(lambda: httpx.get(f"{url}/v1/verify/{first['content_hash']}").json()["verdict"] == "retracted")

    upload(page, original)
    expect(page.locator("#result")).to_have_attribute("data-verdict", "retracted")
    expect(page.locator("#verdict-note")).to_contain_text("points to a corrected version")
    record = page.locator(".match").first
    expect(record.locator(".match-successor")).to_contain_text("Corrected version: ")
    expect(record.locator(".match-successor")).to_contain_text("Market square at noon (corrected date)")
    expect(record.locator(".facts")).to_contain_text("Derived into")
    expect(record.locator(".facts")).to_contain_text("Detail of the market")
    upload(page, crop)
    expect(page.locator("#result")).to_have_attribute("data-verdict", "original")
    expect(page.locator(".match").first.locator(".facts")).to_contain_text("Derived from")
    expect(page.locator(".match").first.locator(".facts")).to_contain_text("“Market square at noon”, ")
    expect(page.locator(".match").first.locator(".facts")).to_contain_text("(retracted)")
