"""The sharing pages in real Chromium: search, an object with its release and "also reported
by", submitting an indicator, and sharing groups managed by the secretariat."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import SECRETARY, log_in

DEMO_INDICATOR = "indicator--6d1f8f3e-0d5a-4c1e-9d0c-3f6e2a7b9c01"


def test_search_and_an_object_with_its_release_and_correlation(live_node: str, page: Page) -> None:
    log_in(page, live_node, "/sharing")
    page.locator("input[name=q]").fill("command-and-control")
    page.locator("form.search button[type=submit]").click()
    results = page.locator("table.results")
    expect(results).to_contain_text("Demo: command-and-control address")
    expect(page.locator("p.count")).to_have_text("1 objects you may see match.")
    page.get_by_role("link", name="Demo: command-and-control address").click()
    expect(page).to_have_url(re.compile(DEMO_INDICATOR))
    expect(page.locator("dl.release")).to_contain_text("GREEN")
    expect(page.locator("dl.release")).to_contain_text("everyone on the node")
    # Tajikistan's observation of the same address, in the SCO members' collection.
    expect(page.locator("ul.correlations")).to_contain_text("TJK")
    expect(page.locator("ul.correlations")).to_contain_text("203.0.113.45")
    expect(page.locator("table.history tbody tr")).to_have_count(1)
    # An id nobody may see, or that does not exist, is the same "not found".
    answer = page.goto(
        f"{live_node}/sharing/objects/indicator--00000000-0000-4000-8000-000000000000"
    )
    assert answer is not None and answer.status == 404


def test_a_liaison_officer_submits_an_indicator(live_node: str, page: Page) -> None:
    log_in(page, live_node, "/sharing/submit")
    page.locator("input[name=name]").fill("Browser-submitted scanner")
    # A broken pattern comes back with the validator's message next to the field.
    page.locator("input[name=pattern]").fill("[ipv4-addr:value = ")
    page.locator("select[name=tlp]").select_option("amber")
    page.locator("form.submission button[type=submit]").click()
    expect(page.locator("#error-pattern")).to_be_visible()
    page.locator("input[name=pattern]").fill("[ipv4-addr:value = '198.51.100.99']")
    page.locator("form.submission button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/sharing/objects/indicator--"))
    expect(page.locator("h1")).to_have_text("Browser-submitted scanner")
    expect(page.locator("dl.release")).to_contain_text("AMBER")
    page.goto(f"{live_node}/sharing?q=browser-submitted")
    expect(page.locator("table.results")).to_contain_text("Browser-submitted scanner")


def test_the_secretariat_manages_a_sharing_group(live_node: str, page: Page) -> None:
    log_in(page, live_node, "/sharing/groups", username=SECRETARY)
    page.locator("form.new-group input[name=name]").fill("Border partners (browser)")
    page.locator("form.new-group button[type=submit]").click()
    group = page.locator("section[data-group='Border partners (browser)']")
    expect(group).to_be_visible()
    group.locator("input[name=member]:not([type=hidden])").fill("KGZ")
    group.get_by_role("button", name="Add").click()
    expect(group.locator("ul.members")).to_contain_text("KGZ")
    group.locator("input[name=member]:not([type=hidden])").fill("ZZZ")
    group.get_by_role("button", name="Add").click()
    expect(page.locator("section[data-group='Border partners (browser)'] .error")).to_be_visible()


def test_a_liaison_officer_cannot_manage_groups(live_node: str, page: Page) -> None:
    log_in(page, live_node, "/sharing/groups")
    expect(page.locator("form.new-group")).to_have_count(0)
