"""REST routes of the CBM module: thin wrappers over the service."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as FastApiPath
from fastapi.responses import PlainTextResponse, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from indivisible.auth.principal import Actor
from indivisible.cbm import compliance, events, exchange, service
from indivisible.cbm.schemas import (
    AnnualDataCreate,
    AnnualDataRead,
    AnswerCreate,
    CalendarCreate,
    CalendarEntryRead,
    ClarificationCreate,
    ClarificationRead,
    ComplianceReport,
    NotificationCreate,
    NotificationRead,
    RecipientRead,
    RuleSetSummary,
    VerificationCreate,
    VerificationDecision,
    VerificationRead,
    VerificationReport,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
)
from indivisible.deps import CurrentActor, DbSession, RowId, Submitted
from indivisible.errors import PROBLEM_RESPONSES
from indivisible.i18n import LANG_COOKIE, negotiate, translations

router = APIRouter(prefix="/api/v1/cbm", tags=["cbm"], responses=PROBLEM_RESPONSES)

# How often an event stream looks for new events, and how long it may stay silent.
POLL_SECONDS = 1.0
KEEP_ALIVE_SECONDS = 15.0


@router.post("/notifications", status_code=201, response_model=NotificationRead)
def file_notification(
    data: NotificationCreate, session: DbSession, actor: CurrentActor, submitted: Submitted
) -> NotificationRead:
    """File a notification of a military activity for your state. The answer holds the
    findings of every agreement in force between your state and others on its dates, and the
    states it was routed to. Sign it with your state's key (``signature``); the node refuses
    unsigned notifications unless its operator allows them."""
    notification = service.file_notification(session, actor, data, submission=submitted)
    return service.read_model(session, notification)


@router.get("/notifications", response_model=list[NotificationRead])
def list_notifications(
    session: DbSession,
    actor: CurrentActor,
    box: Annotated[Literal["all", "inbox", "sent"], Query()] = "all",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[NotificationRead]:
    """Notifications your state filed (sent) or received (inbox), newest first."""
    rows = service.list_notifications(session, actor, box=box, limit=limit, offset=offset)
    return service.read_models(session, rows)


@router.get("/notifications/{notification_id}", response_model=NotificationRead)
def get_notification(
    notification_id: RowId, session: DbSession, actor: CurrentActor
) -> NotificationRead:
    return service.read_model(session, service.get_notification(session, actor, notification_id))


@router.post("/notifications/{notification_id}/acknowledgement", response_model=RecipientRead)
def acknowledge(notification_id: RowId, session: DbSession, actor: CurrentActor) -> RecipientRead:
    """Acknowledge receipt for your state (recipient states' liaison officers)."""
    return service.recipient_read(service.acknowledge(session, actor, notification_id))


@router.post(
    "/notifications/{notification_id}/clarifications",
    status_code=201,
    response_model=ClarificationRead,
)
def ask(
    notification_id: RowId, data: ClarificationCreate, session: DbSession, actor: CurrentActor
) -> ClarificationRead:
    """Ask the notifying state to clarify (recipient states' liaison officers). The reply
    deadline is the shortest the agreements under which you received it encode."""
    return service.clarification_read(service.ask(session, actor, notification_id, data))


@router.post("/clarifications/{clarification_id}/answer", response_model=ClarificationRead)
def answer(
    clarification_id: RowId, data: AnswerCreate, session: DbSession, actor: CurrentActor
) -> ClarificationRead:
    """Answer a clarification request (the notifying state's liaison officers; once)."""
    return service.clarification_read(service.answer(session, actor, clarification_id, data))


@router.get("/rule-sets", response_model=list[RuleSetSummary])
def list_rule_sets(actor: CurrentActor) -> list[RuleSetSummary]:
    """The regimes in force on this node, with what each declares it does not encode."""
    del actor  # Any signed-in principal may read the rules; they are public texts.
    return [service.rule_set_summary(rules) for rules in service.rule_sets()]


@router.post("/annual-data", status_code=201, response_model=AnnualDataRead)
def submit_annual_data(
    data: AnnualDataCreate, session: DbSession, actor: CurrentActor, submitted: Submitted
) -> AnnualDataRead:
    """Submit your state's annual data under a regime (forces in its area by category and
    sector, as of 1 January); sending the same regime and year again replaces it."""
    row = exchange.submit_annual_data(session, actor, data, submission=submitted)
    return exchange.annual_reads(session, [row])[0]


@router.get("/annual-data", response_model=list[AnnualDataRead])
def list_annual_data(
    session: DbSession,
    actor: CurrentActor,
    rule_set: Annotated[str | None, Query(max_length=60)] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
) -> list[AnnualDataRead]:
    """Annual data of your state and of the regimes your state is a party of."""
    rows = exchange.annual_data(session, actor, rule_set_code=rule_set, year=year)
    return exchange.annual_reads(session, rows)


@router.post("/calendars", status_code=201, response_model=list[CalendarEntryRead])
def submit_calendar(
    data: CalendarCreate, session: DbSession, actor: CurrentActor
) -> list[CalendarEntryRead]:
    """Send planned activities of your state for a year; each goes to the other parties of
    every regime whose area it lies in."""
    return [exchange.calendar_read(e) for e in exchange.submit_calendar(session, actor, data)]


@router.get("/calendars", response_model=list[CalendarEntryRead])
def list_calendar(
    session: DbSession,
    actor: CurrentActor,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
) -> list[CalendarEntryRead]:
    """Planned activities of your state and those sent to it."""
    return [exchange.calendar_read(e) for e in exchange.calendar(session, actor, year=year)]


@router.post("/verifications", status_code=201, response_model=VerificationRead)
def request_verification(
    data: VerificationCreate, session: DbSession, actor: CurrentActor
) -> VerificationRead:
    """Request an inspection or evaluation visit of another party under a regime's quota."""
    return exchange.verification_read(exchange.request_verification(session, actor, data))


@router.get("/verifications", response_model=list[VerificationRead])
def list_verifications(
    session: DbSession,
    actor: CurrentActor,
    rule_set: Annotated[str | None, Query(max_length=60)] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
) -> list[VerificationRead]:
    rows = exchange.verifications(session, actor, rule_set_code=rule_set, year=year)
    return [exchange.verification_read(row) for row in rows]


@router.post("/verifications/{request_id}/decision", response_model=VerificationRead)
def decide_verification(
    request_id: RowId, data: VerificationDecision, session: DbSession, actor: CurrentActor
) -> VerificationRead:
    """Accept, or refuse with grounds (the receiving state's liaison officers)."""
    return exchange.verification_read(
        exchange.decide_verification(session, actor, request_id, data)
    )


@router.post("/verifications/{request_id}/report", response_model=VerificationRead)
def report_verification(
    request_id: RowId, data: VerificationReport, session: DbSession, actor: CurrentActor
) -> VerificationRead:
    """File the report of an accepted visit (the requesting state's liaison officers)."""
    return exchange.verification_read(
        exchange.report_verification(session, actor, request_id, data)
    )


ReportYear = Annotated[int, FastApiPath(ge=1990, le=2100, description="Calendar year.")]
RuleSetCode = Annotated[str, FastApiPath(max_length=60, description="Rule-set code.")]


@router.get("/compliance/{rule_set}/{year}", response_model=ComplianceReport)
def compliance_report(
    rule_set: RuleSetCode, year: ReportYear, session: DbSession, actor: CurrentActor
) -> ComplianceReport:
    """A regime's compliance report for a year (its parties only): notifications on time,
    late or missing, observers, annual data, ceilings, quotas and open clarifications."""
    return compliance.report(session, actor, rule_set, year)


@router.get(
    "/compliance/{rule_set}/{year}/report.csv",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def compliance_csv(
    rule_set: RuleSetCode, year: ReportYear, session: DbSession, actor: CurrentActor
) -> PlainTextResponse:
    """The same report as CSV, one measure per line."""
    text = compliance.as_csv(compliance.report(session, actor, rule_set, year))
    return PlainTextResponse(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="compliance-{rule_set}-{year}.csv"'},
    )


def _poll(factory: sessionmaker[Session], actor: Actor, after: int) -> list[dict[str, Any]]:
    with factory() as session:
        return events.events_after(session, actor, after)


def _start_after(factory: sessionmaker[Session], actor: Actor) -> int:
    with factory() as session:
        return events.latest_id(session, actor)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def event_stream(
    request: Request,
    actor: CurrentActor,
    after: Annotated[int | None, Query(ge=0, le=2_147_483_647)] = None,
    max_seconds: Annotated[int, Query(ge=1, le=3600)] = 300,
) -> StreamingResponse:
    """Server-sent events for your state: new notifications, clarification requests and
    answers, calendar entries and verification requests, as they are committed. A stream
    starts after ``after``, or the ``Last-Event-ID`` header, or (neither given) now; it ends
    after ``max_seconds`` and the browser reconnects where it left off."""
    events.ensure_may_listen(actor)
    factory: sessionmaker[Session] = request.app.state.session_factory
    header = request.headers.get("last-event-id", "")
    if after is None and header.isdigit() and len(header) < 11:
        after = int(header)
    start = after if after is not None else await asyncio.to_thread(_start_after, factory, actor)

    async def stream() -> AsyncIterator[str]:
        last = start
        deadline = time.monotonic() + max_seconds
        quiet_since = time.monotonic()
        yield "retry: 3000\n\n"
        while time.monotonic() < deadline and not await request.is_disconnected():
            found = await asyncio.to_thread(_poll, factory, actor, last)
            for item in found:
                last = item["id"]
                yield f"id: {last}\nevent: {item['kind']}\ndata: {json.dumps(item)}\n\n"
            if found:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > KEEP_ALIVE_SECONDS:
                # Proxies close idle connections; a comment line keeps this one open.
                yield ": keep-alive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/webhooks", status_code=201, response_model=WebhookCreated)
def register_webhook(
    data: WebhookCreate, session: DbSession, actor: CurrentActor
) -> WebhookCreated:
    """Register a URL to which every event for your state is POSTed, signed with HMAC-SHA256;
    the secret is in this answer only (liaison officers)."""
    hook, secret = events.register_webhook(session, actor, data)
    return WebhookCreated(**events.webhook_read(session, hook).model_dump(), secret=secret)


@router.get("/webhooks", response_model=list[WebhookRead])
def list_webhooks(session: DbSession, actor: CurrentActor) -> list[WebhookRead]:
    """Your state's webhooks, with deliveries pending and given up."""
    return [events.webhook_read(session, hook) for hook in events.webhooks(session, actor)]


@router.delete("/webhooks/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: RowId, session: DbSession, actor: CurrentActor) -> Response:
    events.delete_webhook(session, actor, webhook_id)
    return Response(status_code=204)


@router.get(
    "/compliance/{rule_set}/{year}/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def compliance_pdf(
    request: Request,
    rule_set: RuleSetCode,
    year: ReportYear,
    session: DbSession,
    actor: CurrentActor,
    lang: Annotated[Literal["en", "ru", "zh"] | None, Query()] = None,
) -> Response:
    """The same report as a printable PDF, in ``lang`` or the language of the request."""
    locale = lang or negotiate(
        request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )
    found = compliance.report(session, actor, rule_set, year)
    return Response(
        compliance.as_pdf(found, translations(locale).gettext, locale),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="compliance-{rule_set}-{year}-{locale}.pdf"'
        },
    )
