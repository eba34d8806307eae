"""Filing a notification through the web form, in Russian, in real Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import log_in


def test_a_liaison_officer_files_a_notification_in_russian(live_node: str, page: Page) -> None:
    log_in(page, live_node)
    page.goto(f"{live_node}/lang/ru?next=/cbm/notifications/new")
    expect(page.locator("h1")).to_have_text("Уведомить о военной деятельности")
    page.locator("input[name=start]").fill("2026-06-01")
    page.locator("input[name=end]").fill("2026-06-10")
    # Near the Sino-Kazakh border, 36,000 personnel: observers are due under the 1996 agreement.
    page.locator("input[name=lon]").fill("80.0")
    page.locator("input[name=lat]").fill("44.5")
    page.locator("input[name=radius]").fill("20")
    page.locator("input[name='force-personnel']").fill("36000")
    page.locator("form.notification button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/cbm/notifications/\d+$"))
    findings = page.locator("table.findings")
    expect(findings).to_contain_text("Art. 6.1: наблюдатели должны быть приглашены.")
    expect(findings).to_contain_text("в районе применения")
    expect(page.locator("body")).to_contain_text("CHN")

    # Dates the wrong way round: the form comes back with the error next to the field.
    page.goto(f"{live_node}/cbm/notifications/new")
    page.locator("input[name=start]").fill("2026-06-10")
    page.locator("input[name=end]").fill("2026-06-01")
    page.locator("input[name=lon]").fill("80.0")
    page.locator("input[name=lat]").fill("44.5")
    page.locator("form.notification button[type=submit]").click()
    expect(page.locator("#error-end")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/cbm/notifications$"))
