"""Early warning in Chromium: the overview map, a region's dashboard with its chart, map,
flags and scored forecasts, the synthetic-data notice, and the PDF report downloaded."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.web.conftest import USERNAME, log_in


def test_a_region_dashboard_renders_and_its_report_downloads(
    live_node: str, browser: Browser
) -> None:
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        log_in(page, live_node, "/warning", username=USERNAME)
        expect(page).to_have_url(f"{live_node}/warning")
        expect(page.get_by_role("note")).to_contain_text("Synthetic data")
        expect(page.locator("svg.warning-map path[data-state]").first).to_be_attached()
        page.get_by_role("link", name="Central Asia").click()
        expect(page).to_have_url(re.compile(r"/warning/region\?spec=central-asia"))
        expect(
            page.get_by_role("heading", name=re.compile("Early warning: Central Asia"))
        ).to_be_visible()
        # The chart's lines have as many points as months shown, and the map is drawn.
        points = page.locator("polyline.series-fatalities").get_attribute("points") or ""
        assert len(points.split()) >= 60
        box = page.locator("svg.series-chart").bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100
        expect(page.locator("#map svg.warning-map path[data-state='KAZ']")).to_be_attached()
        expect(page.locator("table.forecasts tbody tr")).to_have_count(3)
        expect(page.locator("table.backtest")).to_contain_text("no-change")
        with page.expect_download() as waiting:
            page.get_by_role("link", name="CSV").click()
        assert waiting.value.suggested_filename == "indicators.csv"
        with page.expect_download() as waiting:
            page.get_by_role("link", name="Printable report (PDF)").click()
        report = waiting.value
        assert report.suggested_filename.endswith(".pdf")
        assert Path(report.path()).read_bytes().startswith(b"%PDF")
        assert problems == [], problems
    finally:
        context.close()
