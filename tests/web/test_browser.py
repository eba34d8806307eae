"""The web UI in real Chromium (Debian's, driven by Playwright) against a live node."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from indivisible.web.pages import STATUS_FILLS
from tests.web.conftest import PASSWORD, USERNAME, log_in

pytestmark = pytest.mark.browser


def fill(page: Page, state: str) -> str | None:
    return page.locator(f'#map-inner path[data-state="{state}"]').get_attribute("fill")


def test_log_in_switch_languages_and_read_the_sco_map(live_node: str, page: Page) -> None:
    page.goto(f"{live_node}/organisations/SCO")
    expect(page).to_have_url(f"{live_node}/login?next=%2Forganisations%2FSCO")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_node}/organisations/SCO")
    expect(page.locator("h1")).to_contain_text("Shanghai Cooperation Organisation")

    page.locator('a[data-lang="ru"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", name="Хронология членства")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("Шанхайская организация сотрудничества")

    page.locator('a[data-lang="zh"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "zh")
    expect(page.get_by_role("heading", name="成员资格时间线")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("上海合作组织")

    # India: an observer before the Astana summit of 9 June 2017, a member from that day.
    page.fill('input[name="on"]', "2016-12-31")
    page.locator("form.mapform button").click()
    expect(page.locator("#map-inner")).to_have_attribute("data-on", "2016-12-31")
    assert fill(page, "IND") == STATUS_FILLS["observer"]
    assert fill(page, "KAZ") == STATUS_FILLS["member"]
    assert fill(page, "BLR") == STATUS_FILLS["observer"]
    assert fill(page, "USA") == "#e5e7eb"

    page.fill('input[name="on"]', "2017-06-09")
    page.locator("form.mapform button").click()
    expect(page.locator("#map-inner")).to_have_attribute("data-on", "2017-06-09")
    assert fill(page, "IND") == STATUS_FILLS["member"]
    assert fill(page, "PAK") == STATUS_FILLS["member"]
    assert fill(page, "IRN") == STATUS_FILLS["observer"]


def test_the_home_map_follows_the_date_through_htmx(live_node: str, page: Page) -> None:
    log_in(page, live_node)
    page.select_option("#org", "SCO")
    page.fill("#on", "2024-07-04")
    page.locator("#on").dispatch_event("change")
    expect(page.locator("#map-inner")).to_have_attribute("data-on", "2024-07-04")
    assert fill(page, "BLR") == STATUS_FILLS["member"]
    page.select_option("#org", "CSTO")
    expect(page.locator("#map-inner")).to_have_attribute("data-organisation", "CSTO")
    # The address bar follows, so the view can be bookmarked.
    expect(page).to_have_url(f"{live_node}/?org=CSTO&on=2024-07-04")
    assert fill(page, "BLR") == STATUS_FILLS["member"]
    assert fill(page, "ARM") == STATUS_FILLS["frozen"]
    assert fill(page, "CHN") == "#e5e7eb"
