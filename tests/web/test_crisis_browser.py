"""Crisis response in Chromium: the demo's Kazakhstan crisis with its timeline, measures and
printable report, and a small crisis walked from the request to the last contingent home by
three states' liaison officers and the CSTO secretariat, each in their own browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Locator, Page, expect

from tests.web.conftest import (
    CSTO_SECRETARY,
    RUSSIA_LIAISON,
    TAJIK_LIAISON,
    USERNAME,
    log_in,
)


@contextmanager
def signed_in(browser: Browser, base: str, username: str, path: str) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    try:
        log_in(page, base, path, username=username)
        expect(page).to_have_url(re.compile(re.escape(base + path.split("#")[0])))
        yield page
        assert errors == [], errors
    finally:
        context.close()


def test_the_kazakhstan_crisis_shows_its_timeline_measures_and_report(
    live_node: str, browser: Browser
) -> None:
    with signed_in(browser, live_node, USERNAME, "/crisis") as page:
        expect(page.get_by_role("heading", name="Crises")).to_be_visible()
        page.locator("table.crises a").first.click()
        expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
        # A row for the request and decision, the withdrawal plan and six contingents.
        expect(page.locator("table.gantt svg.bars")).to_have_count(8)
        expect(page.locator("table.gantt rect.phase-on-task")).to_have_count(6)
        measures = page.locator("table.measures")
        expect(measures).to_contain_text("Decision to full deployment")
        expect(measures).to_contain_text("5/5")
        link = page.get_by_role("link", name="Printable report (PDF)")
        answer = page.request.get(live_node + str(link.get_attribute("href")))
        assert answer.status == 200 and answer.body().startswith(b"%PDF")


def form(page: Page, action: str) -> Locator:
    return page.locator(f'form[action$="/{action}"]')


def test_a_crisis_from_request_to_withdrawal_by_three_states(
    live_node: str, browser: Browser
) -> None:
    # Kazakhstan's liaison officer asks the CSTO for assistance.
    with signed_in(browser, live_node, USERNAME, "/crisis/new") as kaz:
        kaz.get_by_label("Summary").fill("Browser test crisis (fictional).")
        kaz.get_by_label("Requested at (local time)").fill("2026-11-01T09:00")
        kaz.get_by_label("Time zone").fill("Asia/Almaty")
        kaz.get_by_role("button", name="Send the request").click()
        expect(kaz).to_have_url(re.compile(r"/crisis/\d+$"))
        crisis = kaz.url.rsplit("/", 1)[1]
    path = f"/crisis/{crisis}"

    # The secretariat puts it to the Council.
    with signed_in(browser, live_node, CSTO_SECRETARY, path) as csto:
        opening = form(csto, "decision")
        opening.get_by_label("Session on").fill("2026-11-01")
        opening.get_by_label("Question").fill("Send peacekeepers? (test)")
        opening.get_by_role("button", name="Put the request to the body").click()
        expect(csto.locator("article.decision h3")).to_contain_text("open")

    # Russia and Tajikistan state their positions; Tajikistan sees no Russian forms.
    for who in (RUSSIA_LIAISON, TAJIK_LIAISON):
        with signed_in(browser, live_node, who, path) as member:
            position = form(member, "position")
            position.locator("select[name=position]").select_option("in-favour")
            position.get_by_role("button", name="State the position").click()
            expect(member.locator("table.positions")).to_contain_text(who[:3].upper())

    # The secretariat closes the decision and sets up the operation.
    with signed_in(browser, live_node, CSTO_SECRETARY, path) as csto:
        closing = form(csto, "close")
        closing.get_by_label("Taken at (local time)").fill("2026-11-01T15:00")
        closing.get_by_label("Time zone").fill("Europe/Moscow")
        closing.get_by_role("button", name="Close the decision").click()
        expect(csto.locator("article.decision h3")).to_contain_text("adopted")
        setting_up = form(csto, "operation")
        setting_up.get_by_label("Name", exact=True).fill("Test operation")
        setting_up.get_by_label("Mandate").fill("Protect the airport (test).")
        setting_up.get_by_label("Area").fill("Almaty")
        setting_up.get_by_label("Tasks, one a line: task | place").fill(
            "Protect the airport | Almaty"
        )
        setting_up.get_by_role("button", name="Set up the operation").click()
        expect(csto.locator("#operation")).to_contain_text("Protect the airport")

    # Russia pledges, reports its contingent and every step of it, out of order once.
    with signed_in(browser, live_node, RUSSIA_LIAISON, path) as rus:
        pledging = form(rus, "pledge")
        pledging.get_by_label("Personnel (low)").fill("100")
        pledging.get_by_label("Personnel (high)").fill("120")
        pledging.get_by_label("Pledged at (local time)").fill("2026-11-01T16:00")
        pledging.get_by_label("Time zone").fill("Europe/Moscow")
        pledging.get_by_role("button", name="Pledge").click()
        forming = form(rus, "contingent")
        forming.get_by_label("Contingent name").fill("Airborne company")
        forming.get_by_label("Personnel (low)").fill("110")
        forming.get_by_label("Personnel (high)").fill("110")
        forming.get_by_role("button", name="Report the contingent").click()
        steps = [
            ("departed", "2026-11-01T20:00", None),
            ("arrived", "2026-11-02T01:00", None),
            ("task-taken-over", "2026-11-02T03:00", "Protect the airport"),
            ("withdrawal-started", "2026-11-06T10:00", None),
            ("home", "2026-11-06T18:00", None),
        ]
        for kind, when, task in steps:
            stepping = form(rus, "step")
            stepping.locator("select[name=kind]").select_option(kind)
            stepping.get_by_label("When (local time)").fill(when)
            stepping.get_by_label("Time zone").fill("Asia/Almaty")
            if task:
                stepping.locator("select[name=task]").select_option(label=task)
            stepping.get_by_role("button", name="Report the step").click()
            expect(rus.locator("article.contingent .status")).to_contain_text(
                kind.replace("-", " ")
            )
        # Home is the last step: no form is offered after it.
        expect(form(rus, "step")).to_have_count(0)
        reporting = form(rus, "report")
        reporting.get_by_label("When (local time)").fill("2026-11-03T12:00")
        reporting.get_by_label("Report", exact=True).fill("All quiet at the airport (test).")
        reporting.get_by_role("button", name="File the report").click()
        expect(rus.locator("#report")).to_contain_text("All quiet at the airport")
        expect(rus.locator("#report")).to_contain_text("RUS")

    # The secretariat records the withdrawal plan; everyone sees the measures.
    with signed_in(browser, live_node, CSTO_SECRETARY, path) as csto:
        planning = form(csto, "withdrawal-plan")
        planning.get_by_label("Withdrawal starts (local time)").fill("2026-11-06T09:00")
        planning.get_by_label("Withdrawal ends (local time)").fill("2026-11-08T09:00")
        planning.get_by_label("Time zone").fill("Asia/Almaty")
        planning.get_by_label("Plan").fill("Withdraw by air (test).")
        planning.get_by_role("button", name="Record the withdrawal plan").click()
        expect(csto.locator("#withdrawal-plan")).to_be_visible()
    with signed_in(browser, live_node, TAJIK_LIAISON, path) as tjk:
        measures = tjk.locator("table.measures")
        # Asked at 09:00 in Almaty (UTC+5), decided at 15:00 in Moscow (UTC+3): 8 hours.
        expect(measures.locator("tr", has_text="Request to decision")).to_contain_text("8 h")
        # Decided 12:00 UTC, arrived 01:00 Almaty = 20:00 UTC: 8 hours.
        expect(measures.locator("tr", has_text="Decision to first arrival")).to_contain_text("8 h")
        expect(measures.locator("tr", has_text="Members that deployed")).to_contain_text("1/4")
        expect(measures.locator("tr", has_text="Pledges fulfilled")).to_contain_text("92%–110%")
        expect(tjk.locator("table.gantt rect.phase-withdrawal")).to_have_count(1)
        expect(form(tjk, "step")).to_have_count(0)
