"""Web pages of the CBM module: the notification form, the list (sent and inbox), one
notification with its findings, recipients and clarification requests, and the compliance
report of a regime for a year."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from indivisible.auth.principal import Actor
from indivisible.cbm import compliance, service
from indivisible.cbm.ruleset import ActivityKind, Category
from indivisible.cbm.schemas import NotificationCreate, StateCompliance
from indivisible.cbm.vocabulary import VOCABULARY
from indivisible.deps import DbSession, RowId
from indivisible.errors import IndivisibleError
from indivisible.i18n import _
from indivisible.web.pages import LABELS, Page, WebPage, form_submission
from indivisible.web.pages import _check_form_csrf as check_form_csrf

router = APIRouter(include_in_schema=False)

LABELS.update(VOCABULARY)


# The categories the form asks for; the API takes every category.
FORM_CATEGORIES = [
    Category.personnel,
    Category.battle_tanks,
    Category.armoured_combat_vehicles,
    Category.artillery,
    Category.aircraft_sorties,
    Category.airborne_troops,
]


def _actor(page: Page) -> Actor:
    # web_page() refuses requests without a session, so a page always has its actor.
    assert page.actor is not None
    return page.actor


def _form(
    page: WebPage, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> HTMLResponse:
    return page.render(
        "cbm_new.html",
        status_code=status,
        kinds=list(ActivityKind),
        categories=FORM_CATEGORIES,
        values=values,
        errors=errors,
    )


@router.get("/cbm/notifications/new", response_class=HTMLResponse)
def new_notification(page: WebPage) -> HTMLResponse:
    return _form(page, {"kind": "exercise", "radius": "0"}, {})


@router.post("/cbm/notifications", response_model=None)
async def file_notification(page: WebPage, session: DbSession) -> Response:
    form = await page.request.form()
    values = {key: str(value) for key, value in form.items()}
    check_form_csrf(page, values.get("csrf", ""))
    errors: dict[str, str] = {}
    forces: dict[str, Any] = {}
    for category in FORM_CATEGORIES:
        raw = values.get(f"force-{category.value}", "").strip()
        if raw:
            forces[category.value] = raw
    try:
        location: dict[str, Any] = {
            "point": [values.get("lon", ""), values.get("lat", "")],
            "radius_km": values.get("radius") or 0,
        }
        data = NotificationCreate.model_validate(
            {
                "kind": values.get("kind", ""),
                "start": values.get("start", ""),
                "end": values.get("end", ""),
                "location": location,
                "forces": forces,
                "purpose": values.get("purpose") or None,
                "observers_invited": [
                    code.strip().upper()
                    for code in values.get("observers", "").split(",")
                    if code.strip()
                ],
            }
        )
        notification = service.file_notification(
            session, _actor(page), data, submission=form_submission(page)
        )
    except ValidationError as exc:
        for err in exc.errors():
            where = [str(p) for p in err["loc"]]
            name = _field_name(where)
            errors.setdefault(name, page.gettext(_("Invalid value")) + f": {err['msg']}")
        return _form(page, values, errors, status=422)
    except IndivisibleError as exc:
        errors[_field_name((exc.field or "form").split("."))] = exc.text(page.gettext)
        return _form(page, values, errors, status=exc.status)
    return RedirectResponse(f"/cbm/notifications/{notification.id}", status_code=303)


def _field_name(where: list[str]) -> str:
    """The form field an input error belongs to."""
    if where[:1] == ["location"]:
        return "lat" if "1" in where else "lon" if "0" in where else "location"
    if where[:1] == ["forces"] and len(where) > 1:
        return f"force-{where[1]}"
    if where[:1] == ["observers_invited"]:
        return "observers"
    return where[0] if where else "form"


@router.get("/cbm/notifications", response_class=HTMLResponse)
def notifications(page: WebPage, session: DbSession, box: str = "all") -> HTMLResponse:
    chosen = box if box in ("all", "inbox", "sent") else "all"
    rows = service.list_notifications(session, _actor(page), box=chosen)
    return page.render("cbm_list.html", rows=service.read_models(session, rows), box=chosen)


@router.get("/cbm/notifications/{notification_id}", response_class=HTMLResponse)
def notification_page(notification_id: RowId, page: WebPage, session: DbSession) -> HTMLResponse:
    actor = _actor(page)
    found = service.read_model(session, service.get_notification(session, actor, notification_id))
    return page.render(
        "cbm_notification.html",
        n=found,
        explain=lambda f: page.gettext(f.message).format(**f.params),
    )


# The parts of a state's notification record, in the order the chart stacks them.
CHART_PARTS = ("on_time", "late", "required_undated", "voluntary", "missing")


@router.get("/cbm/compliance", response_class=HTMLResponse)
def compliance_index(page: WebPage, year: int | None = None) -> HTMLResponse:
    chosen = year if year is not None and 1990 <= year <= 2100 else date.today().year
    return page.render(
        "cbm_compliance_index.html",
        regimes=[service.rule_set_summary(r) for r in service.rule_sets()],
        year=chosen,
    )


@router.get("/cbm/compliance/{rule_set}/{year}", response_class=HTMLResponse)
def compliance_page(
    rule_set: Annotated[str, Path(max_length=60)],
    year: Annotated[int, Path(ge=1990, le=2100)],
    page: WebPage,
    session: DbSession,
) -> HTMLResponse:
    found = compliance.report(session, _actor(page), rule_set, year)
    # Bars are drawn to a common scale: the busiest state's record fills the width.
    widest = max(
        [sum(_part(s, p) for p in CHART_PARTS) for s in found.states] + [1],
    )
    return page.render(
        "cbm_compliance.html",
        report=found,
        parts=CHART_PARTS,
        widest=widest,
        part=_part,
    )


def _part(state: StateCompliance, name: str) -> int:
    value = getattr(state, name)
    return len(value) if isinstance(value, list) else int(value)
