"""Web pages of the sharing module: search what I may see, one object with its release,
history and "also reported by", a form to submit an incident or an indicator, and sharing
groups (managed by the secretariat). Every read goes through the same release rule as the
API and TAXII."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from indivisible.auth.principal import Actor
from indivisible.deps import DbSession, RowId
from indivisible.errors import IndivisibleError
from indivisible.i18n import _
from indivisible.sharing import pushes, repository, service
from indivisible.sharing.markings import Tlp
from indivisible.sharing.schemas import Distribution, GroupCreate, MemberCreate, Release
from indivisible.web.pages import LABELS, Page, WebPage
from indivisible.web.pages import _check_form_csrf as check_form_csrf

router = APIRouter(include_in_schema=False)

LABELS.update(
    {
        "submitter": _("the submitting state only"),
        "organisation": _("an organisation's members"),
        "states": _("named states"),
        "group": _("a sharing group"),
        "node": _("everyone on the node"),
        "indicator": _("indicator"),
        "incident": _("incident"),
    }
)

# The marking each TLP level is written with: the STIX 2.1 (TLP 1.0) ids that every STIX
# tool knows, and the TLP 2.0 id for AMBER+STRICT, which TLP 1.0 lacks.
MARKING_OF = {
    Tlp.clear: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    Tlp.green: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    Tlp.amber: "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    Tlp.amber_strict: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.red: "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}
PAGE_SIZE = 50


def _actor(page: Page) -> Actor:
    # web_page() refuses requests without a session, so a page always has its actor.
    assert page.actor is not None
    return page.actor


def _filters(q: str | None, type_: str | None, tlp: str | None) -> repository.SearchFilters:
    return repository.SearchFilters(
        text=(q or "").strip()[:200] or None,
        types=(type_,) if type_ else (),
        tlp=(tlp,) if tlp in {t.value for t in Tlp} else (),
    )


def _results(
    page: Page, session: DbSession, filters: repository.SearchFilters, start: int
) -> dict[str, Any]:
    total, rows = service.search_objects(
        session, _actor(page), filters, limit=PAGE_SIZE, offset=max(start, 0)
    )
    found = []
    for row in rows:
        body = json.loads(row.body)
        found.append(
            {
                "id": row.stix_id,
                "type": row.type,
                "name": body.get("name") or body.get("value") or row.stix_id,
                "tlp": row.tlp,
                "submitter": row.submitter_state or row.origin_node or "",
                "added": service.as_utc(row.date_added).date(),
            }
        )
    return {"total": total, "found": found, "start": start, "size": PAGE_SIZE}


@router.get("/sharing", response_class=HTMLResponse)
def search_page(
    page: WebPage,
    session: DbSession,
    q: Annotated[str | None, Query(max_length=200)] = None,
    type: Annotated[str | None, Query(max_length=60)] = None,
    tlp: Annotated[str | None, Query(max_length=20)] = None,
    start: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    filters = _filters(q, type, tlp)
    context = _results(page, session, filters, start)
    template = "_sharing_results.html" if page.request.headers.get("hx-request") else "sharing.html"
    return page.render(
        template,
        q=q or "",
        type=type or "",
        tlp=tlp or "",
        levels=[t.value for t in Tlp],
        **context,
    )


@router.get("/sharing/objects/{stix_id}", response_class=HTMLResponse)
def object_page(stix_id: str, page: WebPage, session: DbSession) -> HTMLResponse:
    actor = _actor(page)
    view = service.object_view(session, actor, stix_id[:300])
    return page.render(
        "sharing_object.html",
        view=view,
        pretty=json.dumps(view.object, indent=2, ensure_ascii=False),
        correlations=service.correlations(session, actor, stix_id[:300]),
    )


def _writable(session: DbSession, actor: Actor) -> list[Any]:
    return [
        access.collection
        for root in service.api_roots(session)
        for access in service.collections_for(session, actor, root)
        if access.can_write
    ]


def _submit_form(
    page: Page,
    session: DbSession,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    return page.render(
        "sharing_submit.html",
        status_code=status,
        values=values,
        errors=errors,
        collections=_writable(session, _actor(page)),
        groups=service.list_groups(session),
        levels=[t.value for t in Tlp],
        distributions=[d.value for d in Distribution],
    )


@router.get("/sharing/submit", response_class=HTMLResponse)
def submit_form(page: WebPage, session: DbSession) -> HTMLResponse:
    return _submit_form(
        page, session, {"kind": "indicator", "tlp": "green", "distribution": "node"}, {}
    )


def _stix_object(values: dict[str, str]) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    kind = "incident" if values.get("kind") == "incident" else "indicator"
    obj: dict[str, Any] = {
        "type": kind,
        "spec_version": "2.1",
        "id": f"{kind}--{uuid.uuid4()}",
        "created": now,
        "modified": now,
        "name": values.get("name", "").strip(),
        "object_marking_refs": [MARKING_OF.get(Tlp(values["tlp"]), MARKING_OF[Tlp.red])]
        if values.get("tlp") in {t.value for t in Tlp}
        else [MARKING_OF[Tlp.red]],
    }
    if values.get("description", "").strip():
        obj["description"] = values["description"].strip()
    if kind == "indicator":
        obj["pattern"] = values.get("pattern", "").strip()
        obj["pattern_type"] = "stix"
        obj["valid_from"] = (values.get("valid_from") or "").strip() or now
        if len(obj["valid_from"]) == 10:
            obj["valid_from"] += "T00:00:00Z"
    return obj


@router.post("/sharing/submit", response_model=None)
async def submit(page: WebPage, session: DbSession) -> Response:
    values = {key: str(value) for key, value in (await page.request.form()).items()}
    check_form_csrf(page, values.get("csrf", ""))
    actor = _actor(page)
    errors: dict[str, str] = {}
    if not values.get("name", "").strip():
        errors["name"] = page.gettext(_("A name is required."))
        return _submit_form(page, session, values, errors, status=422)
    try:
        release = Release(
            distribution=values.get("distribution", ""),
            organisation=values.get("organisation") or None,
            include_partners=values.get("partners") == "on",
            states=[c.strip().upper() for c in values.get("states", "").split(",") if c.strip()],
            group=values.get("group") or None,
            federate=values.get("federate") == "on",
        )
        collection = service.access_for_submission(session, actor, values.get("collection", ""))
        obj = _stix_object(values)
        # A form cannot sign: on a node that takes only objects their state signed, the
        # service refuses this one, and the page says why.
        rule = pushes.Proof(
            header=None,
            allow_unsigned=False,
            signed_objects_required=page.request.app.state.settings.signed_objects_required,
        )
        result = service.submit(session, actor, collection, [obj], release, proof=rule)
    except ValidationError as exc:
        for err in exc.errors():
            where = str(err["loc"][0]) if err["loc"] else "distribution"
            errors.setdefault(where, page.gettext(_("Invalid value")) + f": {err['msg']}")
        return _submit_form(page, session, values, errors, status=422)
    except IndivisibleError as exc:
        errors[exc.field or "form"] = exc.text(page.gettext)
        return _submit_form(page, session, values, errors, status=exc.status)
    if result.failures:
        failure = result.failures[0]
        if failure.refusal is not None:
            # About the whole form, which cannot sign: in the reader's language.
            errors["form"] = failure.refusal.text(page.gettext)
        else:
            # The OASIS validator's message, shown by the field it is most likely about.
            errors["pattern" if obj["type"] == "indicator" else "form"] = failure.message or ""
        return _submit_form(page, session, values, errors, status=422)
    return RedirectResponse(f"/sharing/objects/{obj['id']}", status_code=303)


@router.get("/sharing/groups", response_class=HTMLResponse)
def groups_page(page: WebPage, session: DbSession) -> HTMLResponse:
    return _groups(page, session, {})


def _groups(
    page: Page, session: DbSession, errors: dict[str, str], status: int = 200
) -> HTMLResponse:
    return page.render(
        "sharing_groups.html",
        status_code=status,
        groups=[service.group_read(session, g) for g in service.list_groups(session)],
        manager=_actor(page).role in service.GROUP_MANAGERS,
        errors=errors,
    )


@router.post("/sharing/groups", response_model=None)
async def create_group(page: WebPage, session: DbSession) -> Response:
    values = {key: str(value) for key, value in (await page.request.form()).items()}
    check_form_csrf(page, values.get("csrf", ""))
    try:
        service.create_group(
            session,
            _actor(page),
            GroupCreate(name=values.get("name", ""), description=values.get("description") or None),
        )
    except ValidationError as exc:
        return _groups(page, session, {"name": exc.errors()[0]["msg"]}, status=422)
    except IndivisibleError as exc:
        return _groups(page, session, {"name": exc.text(page.gettext)}, status=exc.status)
    return RedirectResponse("/sharing/groups", status_code=303)


@router.post("/sharing/groups/{group_id}/members", response_model=None)
async def add_member(group_id: RowId, page: WebPage, session: DbSession) -> Response:
    values = {key: str(value) for key, value in (await page.request.form()).items()}
    check_form_csrf(page, values.get("csrf", ""))
    code = values.get("member", "").strip().upper()
    try:
        member = (
            MemberCreate(state=code)
            if len(code) == 3 and code.isalpha()
            else MemberCreate(organisation=code)
        )
        service.add_member(session, _actor(page), group_id, member)
    except ValidationError as exc:
        return _groups(page, session, {f"member-{group_id}": exc.errors()[0]["msg"]}, status=422)
    except IndivisibleError as exc:
        return _groups(
            page, session, {f"member-{group_id}": exc.text(page.gettext)}, status=exc.status
        )
    return RedirectResponse("/sharing/groups", status_code=303)


@router.post("/sharing/groups/{group_id}/members/remove", response_model=None)
async def remove_member(group_id: RowId, page: WebPage, session: DbSession) -> Response:
    values = {key: str(value) for key, value in (await page.request.form()).items()}
    check_form_csrf(page, values.get("csrf", ""))
    try:
        service.remove_member(session, _actor(page), group_id, values.get("member", "")[:40])
    except IndivisibleError as exc:
        return _groups(
            page, session, {f"member-{group_id}": exc.text(page.gettext)}, status=exc.status
        )
    return RedirectResponse("/sharing/groups", status_code=303)
