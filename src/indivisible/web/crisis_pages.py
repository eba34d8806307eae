"""Web pages of crisis response: the list of crises with their measures side by side, the
request form, one crisis with its timeline, measures, decisions, contributions by state and
a form for each step its reader may take, and "who could help".

Forms take local times (the browser's datetime-local) with an IANA time zone and turn them
into the moments the API takes; every form goes through the same schemas and services as
the API, and a refused step re-renders the page with the rule named next to its field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor, Role
from indivisible.auth.submissions import Submission
from indivisible.crisis import operations, report, service
from indivisible.crisis.operations import NEXT
from indivisible.crisis.rules import Position
from indivisible.crisis.schemas import (
    ConsultationCreate,
    ContingentCreate,
    DecisionClose,
    DecisionCreate,
    DeploymentEventCreate,
    OperationCreate,
    PledgeCreate,
    PositionCreate,
    RequestCreate,
    SituationReportCreate,
    Step,
    TaskCreate,
    WithdrawalPlanCreate,
)
from indivisible.crisis.vocabulary import VOCABULARY
from indivisible.deps import DbSession, RowId
from indivisible.errors import IndivisibleError, InvalidInput
from indivisible.i18n import _
from indivisible.web.pages import LABELS, Page, WebPage, form_submission
from indivisible.web.pages import _check_form_csrf as check_form_csrf

router = APIRouter(include_in_schema=False)

LABELS.update(VOCABULARY)


class FormError(Exception):
    def __init__(self, errors: dict[str, str], status: int) -> None:
        super().__init__(errors)
        self.errors = errors
        self.status = status


def _actor(page: Page) -> Actor:
    assert page.actor is not None
    return page.actor


def _moment(values: dict[str, str], local: str, zone_field: str = "time_zone") -> str | None:
    """``values[local]`` (a datetime-local) in the form's time zone, as an ISO moment."""
    raw = values.get(local, "").strip()
    if not raw:
        return None
    zone = values.get(zone_field, "").strip()
    try:
        where = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise FormError({zone_field: _("not an IANA time zone, e.g. Asia/Almaty")}, 422) from None
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError:
        raise FormError({local: _("not a date and time")}, 422) from None
    return naive.replace(tzinfo=where).isoformat()


def _number(values: dict[str, str], name: str) -> str | None:
    raw = values.get(name, "").strip()
    return raw or None


def _parse(model: type[BaseModel], payload: dict[str, Any], fields: dict[str, str]) -> Any:
    """Validate with the API's schema; errors keyed by the form's field names."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            where = str(err["loc"][0]) if err["loc"] else "form"
            errors.setdefault(fields.get(where, where), err["msg"])
        raise FormError(errors, 422) from None


# --- pages -------------------------------------------------------------------------------


@router.get("/crisis", response_class=HTMLResponse)
def crises(page: WebPage, session: DbSession) -> HTMLResponse:
    actor = _actor(page)
    found = service.list_crises(session, actor)
    rows = [(c, operations.crisis_measures(session, c)) for c in found]
    return page.render(
        "crisis_list.html",
        rows=rows,
        duration=lambda span: report.duration(span, page.gettext),
        share=report.share,
        may_request=actor.role is Role.liaison,
    )


def _request_form(
    page: WebPage, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> HTMLResponse:
    return page.render("crisis_new.html", values=values, errors=errors, status_code=status)


@router.get("/crisis/new", response_class=HTMLResponse)
def new_request(page: WebPage) -> HTMLResponse:
    return _request_form(
        page,
        {"organisation": "CSTO", "agreement": "CST-1992", "article": "Article 4", "kind": "unrest"},
        {},
    )


@router.post("/crisis", response_model=None)
async def file_request(page: WebPage, session: DbSession) -> Response:
    form = await page.request.form()
    values = {key: str(value) for key, value in form.items()}
    check_form_csrf(page, values.get("csrf", ""))
    try:
        data = _parse(
            RequestCreate,
            {
                "organisation": values.get("organisation", ""),
                "kind": values.get("kind", ""),
                "summary": values.get("summary", ""),
                "agreement": values.get("agreement", ""),
                "article": values.get("article", ""),
                "time_zone": values.get("time_zone", ""),
                "requested_at": _moment(values, "requested_local"),
                "text": values.get("text") or None,
            },
            {"requested_at": "requested_local"},
        )
        crisis = service.request_assistance(
            session, _actor(page), data, submission=form_submission(page)
        )
    except FormError as exc:
        return _request_form(page, values, _translated(page, exc.errors), exc.status)
    except IndivisibleError as exc:
        return _request_form(
            page, values, {exc.field or "form": exc.text(page.gettext)}, exc.status
        )
    return RedirectResponse(f"/crisis/{crisis.id}", status_code=303)


def _translated(page: Page, errors: dict[str, str]) -> dict[str, str]:
    return {k: page.gettext(v) for k, v in errors.items()}


def _crisis_page(
    page: WebPage,
    session: Session,
    crisis_id: int,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    actor = _actor(page)
    row = service.get_crisis(session, actor, crisis_id)
    crisis = operations.read_model(session, row)
    measures = operations.crisis_measures(session, row)
    operation = crisis.operation
    my_state = actor.state_code if actor.role is Role.liaison else None
    contributors = (
        operations.contributors(
            session, operations.operation_of(session, actor, operation.id)[0], row
        )
        if operation is not None
        else set()
    )
    return page.render(
        "crisis.html",
        status_code=status,
        crisis=crisis,
        measures=measures,
        measure_rows=report.measure_rows(measures, page.gettext),
        chart=report.timeline(crisis),
        width=report.WIDTH,
        secretariat=actor.role is Role.secretariat
        and actor.organisation_code == crisis.organisation,
        my_state=my_state,
        contributor=my_state in contributors,
        positions=[p.value for p in Position],
        next_steps={
            c.id: [s.value for s in NEXT[Step(c.status) if c.status else None]]
            for c in (operation.contingents if operation else [])
        },
        adopted=next((d for d in crisis.decisions if d.final and d.result == "adopted"), None),
        people=lambda low, high: report.people(low, high, page.gettext),
        errors=errors or {},
        values=values or {},
    )


@router.get("/crisis/who-could-help", response_class=HTMLResponse)
def who_could_help(
    page: WebPage, session: DbSession, state: str = "", on: str = ""
) -> HTMLResponse:
    answer = None
    error = None
    if state:
        try:
            day = date.fromisoformat(on) if on else date.today()
            answer = operations.who_could_help(session, _actor(page), state.strip().upper(), day)
        except ValueError:
            error = page.gettext(_("Not a date: use YYYY-MM-DD."))
        except IndivisibleError as exc:
            error = exc.text(page.gettext)
    return page.render(
        "crisis_help.html",
        answer=answer,
        error=error,
        state=state,
        on=on or date.today().isoformat(),
    )


@router.get("/crisis/{crisis_id}", response_class=HTMLResponse)
def crisis_page(crisis_id: RowId, page: WebPage, session: DbSession) -> HTMLResponse:
    return _crisis_page(page, session, crisis_id)


# --- one handler per step ------------------------------------------------------------------

Act = Callable[[Session, Actor, int, dict[str, str]], object]


def _consultation(session: Session, actor: Actor, crisis_id: int, v: dict[str, str]) -> object:
    data = _parse(
        ConsultationCreate,
        {
            "time_zone": v.get("time_zone", ""),
            "held_at": _moment(v, "held_local"),
            "format": v.get("format", ""),
            "participants": [p.strip().upper() for p in v.get("participants", "").split(",") if p.strip()],
            "summary": v.get("summary", ""),
        },
        {"held_at": "held_local"},
    )  # fmt: skip
    return operations.record_consultation(session, actor, crisis_id, data)


def _decision(session: Session, actor: Actor, crisis_id: int, v: dict[str, str]) -> object:
    data = _parse(
        DecisionCreate,
        {"body": v.get("body", ""), "session_on": v.get("session_on", ""), "question": v.get("question", "")},
        {},
    )  # fmt: skip
    return service.open_decision(session, actor, crisis_id, data)


def _decision_of(session: Session, actor: Actor, crisis_id: int, v: dict[str, str]) -> int:
    raw = v.get("decision", "")
    if not raw.isdigit():
        raise FormError({"decision": _("Choose a decision.")}, 422)
    decision, crisis = service.decision_and_crisis(session, actor, int(raw))
    if crisis.id != crisis_id:
        raise FormError({"decision": _("Choose a decision.")}, 422)
    return decision.id


def _position(
    session: Session, actor: Actor, crisis_id: int, v: dict[str, str], submission: Submission
) -> object:
    decision = _decision_of(session, actor, crisis_id, v)
    data = _parse(PositionCreate, {"position": v.get("position", "")}, {})
    return service.state_position(session, actor, decision, data, submission=submission)


def _close(session: Session, actor: Actor, crisis_id: int, v: dict[str, str]) -> object:
    decision = _decision_of(session, actor, crisis_id, v)
    data = _parse(
        DecisionClose,
        {"time_zone": v.get("time_zone", ""), "decided_at": _moment(v, "decided_local")},
        {"decided_at": "decided_local"},
    )
    return service.close_decision(session, actor, decision, data)


def _operation(session: Session, actor: Actor, crisis_id: int, v: dict[str, str]) -> object:
    tasks = []
    for line in v.get("tasks", "").splitlines():
        title, _sep, place = line.partition("|")
        if title.strip():
            tasks.append({"title": title.strip(), "place": place.strip() or None})
    data = _parse(
        OperationCreate,
        {
            "decision": v.get("decision", ""),
            "name": v.get("name", ""),
            "mandate": v.get("mandate", ""),
            "area": v.get("area", ""),
            "commander": v.get("commander") or None,
            "time_zone": v.get("time_zone", ""),
            "planned_start": _moment(v, "planned_start_local"),
            "planned_end": _moment(v, "planned_end_local"),
            "tasks": tasks,
        },
        {"planned_start": "planned_start_local", "planned_end": "planned_end_local"},
    )
    return operations.set_up_operation(session, actor, crisis_id, data)


def _operation_id(session: Session, actor: Actor, crisis_id: int) -> int:
    crisis = service.get_crisis(session, actor, crisis_id)
    operation = operations.operation_for_crisis(session, crisis)
    if operation is None:
        raise InvalidInput(_("This crisis has no operation yet."), code="no_operation")
    return operation.id


def _task(session: Session, actor: Actor, crisis_id: int, v: dict[str, str]) -> object:
    data = _parse(TaskCreate, {"title": v.get("title", ""), "place": v.get("place") or None}, {})
    return operations.add_task(session, actor, _operation_id(session, actor, crisis_id), data)


def _withdrawal_plan(session: Session, actor: Actor, crisis_id: int, v: dict[str, str]) -> object:
    data = _parse(
        WithdrawalPlanCreate,
        {
            "time_zone": v.get("time_zone", ""),
            "planned_start": _moment(v, "planned_start_local"),
            "planned_end": _moment(v, "planned_end_local"),
            "text": v.get("text", ""),
        },
        {"planned_start": "planned_start_local", "planned_end": "planned_end_local"},
    )
    return operations.plan_withdrawal(
        session, actor, _operation_id(session, actor, crisis_id), data
    )


def _pledge(session: Session, actor: Actor, crisis_id: int, v: dict[str, str]) -> object:
    data = _parse(
        PledgeCreate,
        {
            "time_zone": v.get("time_zone", ""),
            "pledged_at": _moment(v, "pledged_local"),
            "personnel_low": _number(v, "personnel_low"),
            "personnel_high": _number(v, "personnel_high"),
            "readiness_hours": _number(v, "readiness_hours"),
            "note": v.get("note") or None,
        },
        {"pledged_at": "pledged_local"},
    )
    return operations.pledge(session, actor, _operation_id(session, actor, crisis_id), data)


def _contingent(session: Session, actor: Actor, crisis_id: int, v: dict[str, str]) -> object:
    data = _parse(
        ContingentCreate,
        {
            "name": v.get("name", ""),
            "personnel_low": _number(v, "personnel_low"),
            "personnel_high": _number(v, "personnel_high"),
            "note": v.get("note") or None,
        },
        {},
    )
    return operations.form_contingent(
        session, actor, _operation_id(session, actor, crisis_id), data
    )


def _step(session: Session, actor: Actor, crisis_id: int, v: dict[str, str]) -> object:
    raw = v.get("contingent", "")
    if not raw.isdigit():
        raise FormError({"contingent": _("Choose a contingent.")}, 422)
    contingent, _operation, crisis = operations.contingent_of(session, actor, int(raw))
    if crisis.id != crisis_id:
        raise FormError({"contingent": _("Choose a contingent.")}, 422)
    data = _parse(
        DeploymentEventCreate,
        {
            "kind": v.get("kind", ""),
            "time_zone": v.get("time_zone", ""),
            "at": _moment(v, "at_local"),
            "place": v.get("place") or None,
            "task": v.get("task") or None,
            "note": v.get("note") or None,
        },
        {"at": "at_local"},
    )
    return operations.record_step(session, actor, contingent.id, data)


def _report(session: Session, actor: Actor, crisis_id: int, v: dict[str, str]) -> object:
    data = _parse(
        SituationReportCreate,
        {
            "time_zone": v.get("time_zone", ""),
            "at": _moment(v, "at_local"),
            "contingent": v.get("contingent") or None,
            "text": v.get("text", ""),
        },
        {"at": "at_local"},
    )
    return operations.report_situation(
        session, actor, _operation_id(session, actor, crisis_id), data
    )


ACTIONS: dict[str, Act] = {
    "consultation": _consultation,
    "decision": _decision,
    "close": _close,
    "operation": _operation,
    "task": _task,
    "withdrawal-plan": _withdrawal_plan,
    "pledge": _pledge,
    "contingent": _contingent,
    "step": _step,
    "report": _report,
}


@router.post("/crisis/{crisis_id}/{action}", response_model=None)
async def act(crisis_id: RowId, action: str, page: WebPage, session: DbSession) -> Response:
    form = await page.request.form()
    values = {key: str(value) for key, value in form.items()}
    check_form_csrf(page, values.get("csrf", ""))
    handler = ACTIONS.get(action)
    if handler is None and action != "position":
        return _crisis_page(page, session, crisis_id, status=404)
    try:
        if handler is None:  # a position binds the state: the node's rule on signatures applies
            _position(session, _actor(page), crisis_id, values, form_submission(page))
        else:
            handler(session, _actor(page), crisis_id, values)
    except FormError as exc:
        session.rollback()
        return _crisis_page(
            page, session, crisis_id, errors={action: _translated(page, exc.errors)},
            values=values, status=exc.status,
        )  # fmt: skip
    except IndivisibleError as exc:
        session.rollback()
        return _crisis_page(
            page, session, crisis_id, errors={action: {exc.field or "form": exc.text(page.gettext)}},
            values=values, status=exc.status,
        )  # fmt: skip
    return RedirectResponse(f"/crisis/{crisis_id}#{action}", status_code=303)
