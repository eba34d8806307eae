"""Filing a notification through the web form, in Russian, in real Chromium."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import Page, expect

from tests.web.conftest import CHINA_LIAISON, TOKENS, log_in


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


def test_the_compliance_report_of_the_demo_year(live_node: str, page: Page) -> None:
    log_in(page, live_node, "/cbm/compliance?year=2026")
    expect(page.locator("h1")).to_have_text("Compliance reports")
    page.locator("tr", has_text="MOSCOW-REDUCTION-1997").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/cbm/compliance/MOSCOW-REDUCTION-1997/2026$"))
    west = page.locator(".ceilings tr[data-outcome='exceeded']")
    expect(west).to_have_count(1)
    expect(west).to_contain_text("11,600")
    expect(west.locator("svg rect.holding-exceeded")).to_have_count(1)
    expect(page.locator(".compliance tr[data-state='KAZ']")).to_contain_text("sent")
    # The Shanghai report: observers due and not invited, with links to the notifications.
    page.goto(f"{live_node}/cbm/compliance/SHANGHAI-CBM-1996/2026")
    tajik = page.locator(".compliance tr[data-state='TJK']")
    expect(tajik.get_by_role("link")).to_have_count(1)
    expect(tajik).to_contain_text("1 overdue")
    csv = page.request.get(f"{live_node}/api/v1/cbm/compliance/SHANGHAI-CBM-1996/2026/report.csv")
    assert csv.status == 200 and csv.text().startswith("rule_set,year,section,state")


def test_a_new_notification_appears_at_once_on_the_recipients_page(
    live_node: str, page: Page
) -> None:
    log_in(page, live_node, "/cbm/notifications")
    expect(page.locator("h1")).to_have_text("Notifications")
    live = page.locator("#cbm-live")
    expect(live).to_be_hidden()
    # Give the page's event stream a moment to open before China files.
    page.wait_for_timeout(1500)
    filed = requests.post(
        f"{live_node}/api/v1/cbm/notifications",
        json={
            "kind": "exercise",
            "start": "2027-03-01",
            "end": "2027-03-05",
            "location": {"point": [81.6, 44.0], "radius_km": 10},
            "forces": {"personnel": 20000},
        },
        headers={"Authorization": f"Bearer {TOKENS[CHINA_LIAISON]}"},
        timeout=30,
    )
    assert filed.status_code == 201, filed.text
    number = filed.json()["id"]
    expect(live).to_be_visible(timeout=15_000)
    expect(live.get_by_role("link")).to_have_text(f"New notification {number} from CHN")
    live.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/cbm/notifications/{number}$"))
