"""REST routes of early warning: indicators, anomaly flags, a dashboard with forecasts, and
exports (CSV, Parquet, PDF)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor
from indivisible.deps import CurrentActor, DbSession, RowId
from indivisible.errors import PROBLEM_RESPONSES
from indivisible.i18n import LANG_COOKIE, negotiate, translations
from indivisible.warning import alerts, report, service
from indivisible.warning.schemas import (
    AlertFiringRead,
    AlertRuleCreate,
    AlertRuleRead,
    Dashboard,
    EvaluationRead,
    IndicatorRead,
    Region,
)

router = APIRouter(prefix="/api/v1/warning", tags=["warning"], responses=PROBLEM_RESPONSES)

Country = Annotated[str | None, Query(pattern=r"^[A-Z]{3}$", description="ISO alpha-3.")]
RegionSpec = Annotated[
    str | None,
    Query(max_length=60, description="central-asia, org:<organisation> or belt:<state>."),
]
On = Annotated[date | None, Query(description="The date a region's membership is read on.")]
Sources = Annotated[list[str] | None, Query(description="ucdp-ged, acled or synthetic.")]
First = Annotated[date | None, Query(description="The first month shown (a day in it).")]
Last = Annotated[date | None, Query(description="The last month shown (a day in it).")]


def _path(request: Request) -> Path:
    path: Path = request.app.state.settings.events_file()
    return path


def _region(session: Session, spec: str | None, on: date | None) -> Region | None:
    return service.region(session, spec, on or date.today()) if spec else None


def _rows(
    request: Request, session: Session, actor: Actor, country: str | None, region: str | None,
    on: date | None, source: list[str] | None, since: date | None = None,
) -> list[IndicatorRead]:  # fmt: skip
    """The indicator rows the listing and both exports give."""
    found = _region(session, region, on)
    countries = [country] if country else None
    return service.indicator_rows(actor, _path(request), countries, found, source, since)


@router.get("/indicators", response_model=list[IndicatorRead])
def indicators(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    country: Country = None,
    region: RegionSpec = None,
    on: On = None,
    source: Sources = None,
    since: date | None = None,
) -> list[IndicatorRead]:
    """Events and fatalities per country-month (every country, one, or a region summed),
    with rolling means and ratios."""
    return _rows(request, session, actor, country, region, on, source, since)


@router.get("/dashboard", response_model=Dashboard)
def dashboard(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    country: Country = None,
    region: RegionSpec = None,
    on: On = None,
    source: Sources = None,
    first: First = None,
    last: Last = None,
) -> Dashboard:
    """A country's or region's series, anomaly flags and forecasts, each forecast with its
    model's backtest score, over a period (``first``, ``last``) or everything."""
    return service.dashboard(
        actor, _path(request), country=country, region_=_region(session, region, on),
        sources=source, first=first, last=last,
    )  # fmt: skip


@router.get("/export.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_csv(
    request: Request, session: DbSession, actor: CurrentActor, country: Country = None,
    region: RegionSpec = None, on: On = None, source: Sources = None,
) -> Response:  # fmt: skip
    rows = _rows(request, session, actor, country, region, on, source)
    return Response(
        report.as_csv(rows),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="indicators.csv"'},
    )


@router.get(
    "/export.parquet",
    response_class=Response,
    responses={200: {"content": {"application/vnd.apache.parquet": {}}}},
)
def export_parquet(
    request: Request, session: DbSession, actor: CurrentActor, country: Country = None,
    region: RegionSpec = None, on: On = None, source: Sources = None,
) -> Response:  # fmt: skip
    rows = _rows(request, session, actor, country, region, on, source)
    return Response(
        report.as_parquet(rows),
        media_type="application/vnd.apache.parquet",
        headers={"Content-Disposition": 'attachment; filename="indicators.parquet"'},
    )


@router.get(
    "/report.pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}}
)
def report_pdf(
    request: Request, session: DbSession, actor: CurrentActor, country: Country = None,
    region: RegionSpec = None, on: On = None, source: Sources = None,
    first: First = None, last: Last = None,
    lang: Annotated[Literal["en", "ru", "zh"] | None, Query()] = None,
) -> Response:  # fmt: skip
    """The dashboard as a printable report for a period (``first``, ``last``) or everything,
    in ``lang`` or the language of the request."""
    locale = lang or negotiate(
        request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )
    board = service.dashboard(
        actor, _path(request), country=country, region_=_region(session, region, on),
        sources=source, first=first, last=last,
    )  # fmt: skip
    return Response(
        report.as_pdf(board, translations(locale).gettext, locale),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="warning-{board.key}-{locale}.pdf"'},
    )


@router.post("/alerts", status_code=201, response_model=AlertRuleRead)
def create_alert(data: AlertRuleCreate, session: DbSession, actor: CurrentActor) -> AlertRuleRead:
    """A rule for your state: a country's or region's indicator above a threshold, or an
    anomaly flag; you are subscribed to it."""
    return alerts.rule_read(alerts.create_rule(session, actor, data), True)


@router.get("/alerts", response_model=list[AlertRuleRead])
def list_alerts(session: DbSession, actor: CurrentActor) -> list[AlertRuleRead]:
    """Your state's alert rules, and whether you subscribe to each."""
    return alerts.rules(session, actor)


@router.put("/alerts/{rule_id}/subscription", response_model=AlertRuleRead)
def subscribe(rule_id: RowId, session: DbSession, actor: CurrentActor) -> AlertRuleRead:
    return alerts.subscribe(session, actor, rule_id, True)


@router.delete("/alerts/{rule_id}/subscription", response_model=AlertRuleRead)
def unsubscribe(rule_id: RowId, session: DbSession, actor: CurrentActor) -> AlertRuleRead:
    return alerts.subscribe(session, actor, rule_id, False)


@router.get("/alerts/firings", response_model=list[AlertFiringRead])
def alert_firings(session: DbSession, actor: CurrentActor) -> list[AlertFiringRead]:
    """What the rules you subscribe to fired, newest first, each with the data that fired
    it (your inbox of alerts; new ones also arrive on the event stream and webhooks)."""
    return alerts.firings(session, actor)


@router.get("/alerts/firings/{firing_id}", response_model=AlertFiringRead)
def alert_firing(firing_id: RowId, session: DbSession, actor: CurrentActor) -> AlertFiringRead:
    return alerts.firings(session, actor, firing_id)[0]


@router.post("/alerts/evaluate", response_model=EvaluationRead)
def evaluate_alerts(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    months: Annotated[int, Query(ge=1, le=120, description="How many recent months.")] = 3,
) -> EvaluationRead:
    """Evaluate every active rule over the last months now (imports do this by themselves)."""
    return alerts.evaluate(session, actor, _path(request), months)
