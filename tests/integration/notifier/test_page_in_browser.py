"""A consultant answers in a real browser: Debian's Chromium driven by Playwright.

The notifier runs for real (Kafka, PostgreSQL, the SMTP sink) and serves HTTP on a free
port. The walk starts from the link in the real email, with JavaScript switched off in the
browser, since the page must work without it. Screenshots at phone and desktop width go to
`$KOPPEL_SCREENSHOTS` when set (`make screenshots` sets docs/screenshots), else to a
temporary directory.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from koppel.topics import RESPONSES
from koppel_demo.sandbox import free_port
from koppel_notifier.adapters.link_tokens import VALID_FOR, LinkTokens
from koppel_testing.email_links import link
from koppel_testing.integration_notifier import NotifierRig
from koppel_testing.kafka_reading import OpenReader
from koppel_testing.receivers import served

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="no /usr/bin/chromium: run deploy/local/chromium.sh (CI installs it and runs this)",
    ),
]


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


async def page_at(browser: Browser, viewport: ViewportSize) -> Page:
    """A fresh browser window of `viewport`'s size, without JavaScript."""
    context = await browser.new_context(
        viewport=viewport, java_script_enabled=False, locale="nl-NL"
    )
    return await context.new_page()


async def test_a_consultant_declines_from_the_email_then_takes_it_back(
    rig: NotifierRig, reader: OpenReader, tmp_path: Path
) -> None:
    who = rig.named("browser")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    screenshots = Path(os.environ.get("KOPPEL_SCREENSHOTS") or tmp_path)
    topic = await reader(RESPONSES)
    async with rig.notifier(PUBLIC_BASE_URL=base) as running, served(running.app, port):
        await rig.subscribe_by_email(who)
        declined_id = await rig.kafka.found(who.id, rig.assignment("a-1"), 0.87)
        await rig.arrived(who, "email")
        liked_id = await rig.kafka.found(
            who.id,
            rig.assignment(
                "a-2",
                title="Adviseur online communicatie",
                visibility="confidential",
                closes_at=(datetime.now(UTC) + timedelta(days=10)).isoformat(),
            ),
            0.74,
        )
        await rig.wait(lambda: len(rig.mails(who)) == 2, what="the second email")
        first = rig.mails(who)[0].part("text/plain")

        async with chromium() as browser:
            page = await page_at(browser, PHONE)
            await _decline_and_take_back(page, link(first, "Niet interessant"))
            await _answer_by_keyboard_only(page)
            await page.screenshot(path=screenshots / "consultant-page-phone.png", full_page=True)
            desktop = await page_at(browser, DESKTOP)
            await desktop.goto(page.url)
            await desktop.screenshot(
                path=screenshots / "consultant-page-desktop.png", full_page=True
            )
            await _refused_links(browser, running.settings.unsubscribe_key(), who.id, base)

    events = {
        declined_id: await topic.events(declined_id.encode(), count=2),
        liked_id: await topic.events(liked_id.encode()),
    }
    assert [(event.type, event.data["via"]) for event in events[declined_id]] == [
        ("nl.koppel.match.responded", "email_link"),
        ("nl.koppel.match.response_withdrawn", "page"),
    ]
    assert events[declined_id][0].data["reason"] == "hours"
    [liked] = events[liked_id]
    assert (liked.data["response"], liked.data["via"]) == ("interested", "page")
    assert (screenshots / "consultant-page-phone.png").stat().st_size > 10_000


async def _decline_and_take_back(page: Page, decline_link: str) -> None:
    opened = await page.goto(decline_link)
    assert opened is not None
    assert opened.status == 200
    await expect(page.get_by_role("heading", name="Antwoord bevestigen")).to_be_visible()
    await page.get_by_label("Reden (niet verplicht)").select_option("hours")
    await page.get_by_label("Toelichting").fill("Liever 24 uur per week")
    await page.get_by_role("button", name="Niet interessant doorgeven").click()

    await expect(page.get_by_role("status")).to_have_text("Dank je, je antwoord is opgeslagen.")
    answered = page.locator("article", has_text="Je antwoord: Niet interessant")
    await expect(answered).to_contain_text("Reden: Aantal uren")
    await expect(answered).to_contain_text("Liever 24 uur per week")
    await expect(answered).to_contain_text("Senior communicatieadviseur participatie")

    await answered.get_by_role("button", name="Antwoord intrekken").click()
    await expect(page.get_by_role("status")).to_have_text("Je antwoord is ingetrokken.")
    await expect(page.locator("article", has_text="Je antwoord:")).to_have_count(0)
    await expect(page.locator("article")).to_have_count(2)
    await expect(page.get_by_text("Adviseur online communicatie")).to_have_count(0)


async def _answer_by_keyboard_only(page: Page) -> None:
    """Tab to the confidential match's "Interessant" button and press Enter."""
    confidential = page.locator("article").nth(0)
    target = confidential.get_by_role("button", name="Interessant", exact=True)
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await target.evaluate("button => button === document.activeElement"):
            break
    else:
        raise AssertionError("the Interessant button cannot be reached with Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_have_text("Dank je, je antwoord is opgeslagen.")
    await expect(page.locator("article").nth(0)).to_contain_text("Je antwoord: Interessant")


async def _refused_links(browser: Browser, secret: str, consultant: str, base: str) -> None:
    page = await page_at(browser, PHONE)
    forged = await page.goto(
        f"{base}/m/{LinkTokens('forged-secret-of-enough-length').page(consultant)}"
    )
    assert forged is not None
    assert forged.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("Deze link is niet geldig")
    await expect(page.locator("article")).to_have_count(0)

    past = datetime.now(UTC) - VALID_FOR - timedelta(minutes=1)
    expired = await page.goto(f"{base}/m/{LinkTokens(secret, clock=lambda: past).page(consultant)}")
    assert expired is not None
    assert expired.status == 410
    await expect(page.get_by_role("heading", level=1)).to_have_text("Deze link is verlopen")
    await expect(page.locator("article")).to_have_count(0)
