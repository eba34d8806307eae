"""Web pages of early warning: the overview (a map of the last year's fatalities and the
regions) and a dashboard per country or region: the monthly chart, the map, the anomaly
flags and the forecasts with their backtest skill, with the PDF, CSV and Parquet exports.
Every page built on synthetic events says so."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from indivisible.deps import DbSession
from indivisible.errors import InvalidInput
from indivisible.i18n import _
from indivisible.warning import indicators, service
from indivisible.warning.schemas import Dashboard
from indivisible.warning.vocabulary import VOCABULARY
from indivisible.web.pages import LABELS, Page, WebPage
from indivisible.web.worldmap import render_svg

router = APIRouter(include_in_schema=False)

LABELS.update(VOCABULARY)

CHART_WIDTH = 720.0
CHART_HEIGHT = 200.0
# Fatalities over the last year, light to dark.
SCALE = (
    (0, "#f3f4f6"),
    (1, "#fde68a"),
    (25, "#fbbf24"),
    (250, "#f97316"),
    (1000, "#dc2626"),
    (10000, "#7f1d1d"),
)


# Regions offered on the overview: a named group, organisations and a security belt.
REGIONS = (
    ("central-asia", _("Central Asia")),
    ("org:SCO", "SCO"),
    ("org:CSTO", "CSTO"),
    ("belt:AFG", _("AFG + neighbours")),
)


def fill(value: int) -> str:
    colour = SCALE[0][1]
    for threshold, shade in SCALE:
        if value >= threshold:
            colour = shade
    return colour


def _path(page: Page) -> Path:
    path: Path = page.request.app.state.settings.events_file()
    return path


def chart(
    values: list[int], months: list[date], width: float = CHART_WIDTH, height: float = CHART_HEIGHT
) -> str:
    """Polyline points of a monthly series scaled into the chart box."""
    if not values:
        return ""
    top = max(max(values), 1)
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - height * v / top:.1f}" for i, v in enumerate(values))


def _map(board: Dashboard, page: Page) -> str:
    fills = {code: fill(value) for code, value in board.last_year.items()}
    titles = {code: f"{code}: {value}" for code, value in board.last_year.items()}
    return render_svg(
        fills,
        titles=titles,
        css_class="worldmap warning-map",
        label=page.gettext("Fatalities over the last 12 months"),
    )


def _render(
    page: Page, board: Dashboard, query: dict[str, str], first: str = "", last: str = ""
) -> HTMLResponse:
    # Ten years at most on the chart; a chosen period is shown whole.
    recent = len(board.months) if first or last else 120
    return page.render(
        "warning_dashboard.html",
        board=board,
        map_svg=_map(board, page),
        events_points=chart(board.events[-recent:], board.months[-recent:]),
        fatalities_points=chart(board.fatalities[-recent:], board.months[-recent:]),
        first=board.months[-recent:][0] if board.months else None,
        last=board.months[-1] if board.months else None,
        peak_events=max(board.events[-recent:], default=0),
        peak_fatalities=max(board.fatalities[-recent:], default=0),
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        query=urlencode({**query, "lang": page.locale}),
        base_query=query,
        period_first=first,
        period_last=last,
        scale=SCALE,
    )


@router.get("/warning", response_class=HTMLResponse)
def overview(page: WebPage) -> HTMLResponse:
    service.ensure_reader(page.actor)
    # One aggregate query: the last 12 months' fatalities per country, summed in NumPy.
    with service.open_store(_path(page)) as connection:
        sources = indicators.default_sources(connection)
        series = indicators.monthly(connection, sources=sources)
    totals = series.fatalities[:, -12:].sum(axis=1) if series.keys else []
    last_year = {key: int(total) for key, total in zip(series.keys, totals, strict=True)}
    fills = {code: fill(v) for code, v in last_year.items()}
    return page.render(
        "warning_index.html",
        countries=sorted(last_year.items(), key=lambda kv: -kv[1]),
        map_svg=render_svg(
            fills,
            titles={c: f"{c}: {v}" for c, v in last_year.items()},
            css_class="worldmap warning-map",
            label=page.gettext("Fatalities over the last 12 months"),
        ),
        synthetic="synthetic" in sources,
        sources=sources,
        regions=REGIONS,
        scale=SCALE,
    )


def _period(first: str, last: str) -> tuple[date | None, date | None, dict[str, str]]:
    """The period from the form's months (YYYY-MM), and the same as query parameters."""
    try:
        start = date.fromisoformat(f"{first}-01") if first else None
        end = date.fromisoformat(f"{last}-01") if last else None
    except ValueError:
        raise InvalidInput(
            _("Not a month: use YYYY-MM."), code="bad_month", field="first"
        ) from None
    query = {k: v.isoformat() for k, v in (("first", start), ("last", end)) if v is not None}
    return start, end, query


@router.get("/warning/country/{code}", response_class=HTMLResponse)
def country_page(code: str, page: WebPage, first: str = "", last: str = "") -> HTMLResponse:
    start, end, period = _period(first, last)
    board = service.dashboard(page.actor, _path(page), country=code.upper(), first=start, last=end)
    return _render(page, board, {"country": board.key, **period}, first, last)


@router.get("/warning/region", response_class=HTMLResponse)
def region_page(
    page: WebPage,
    session: DbSession,
    spec: str = "central-asia",
    on: str = "",
    first: str = "",
    last: str = "",
) -> HTMLResponse:
    day = date.fromisoformat(on) if on else date.today()
    found = service.region(session, spec, day)
    start, end, period = _period(first, last)
    board = service.dashboard(page.actor, _path(page), region_=found, first=start, last=end)
    return _render(page, board, {"region": spec, "on": day.isoformat(), **period}, first, last)
