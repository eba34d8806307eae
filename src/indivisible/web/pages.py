"""Server-rendered pages (Jinja2 + htmx); they call the same services as the API."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select

from indivisible.auth import service as auth_service
from indivisible.auth.principal import Actor
from indivisible.auth.secrets import new_secret, same
from indivisible.auth.submissions import Submission
from indivisible.auth.throttle import Throttle, client_address, retry_after
from indivisible.deps import SESSION_COOKIE, DbSession
from indivisible.errors import IndivisibleError, NotAuthenticated, PermissionDenied
from indivisible.i18n import LANG_COOKIE, LANGUAGE_NAMES, LOCALES, _, negotiate, translations
from indivisible.registry import service
from indivisible.registry.enums import MembershipStatus
from indivisible.registry.models import Organisation, State
from indivisible.web.worldmap import render_svg

HERE = Path(__file__).parent
LOGIN_CSRF_COOKIE = "indivisible_login_csrf"
NO_NUL = r"^[^\x00]*$"

# Fill colours per status; a legend on the page names them, so colour is never the only cue.
STATUS_FILLS = {
    MembershipStatus.member.value: "#1d4ed8",
    MembershipStatus.observer.value: "#60a5fa",
    MembershipStatus.dialogue_partner.value: "#a5b4fc",
    MembershipStatus.partner.value: "#93c5fd",
    MembershipStatus.suspended.value: "#f59e0b",
    MembershipStatus.frozen.value: "#fb923c",
}

# Every closed vocabulary shown to people, marked for translation where it is defined.
LABELS = {
    "member": _("member"),
    "observer": _("observer"),
    "dialogue-partner": _("dialogue partner"),
    "partner": _("partner"),
    "suspended": _("suspended"),
    "frozen": _("frozen"),
    "withdrawn": _("withdrawn"),
    "regional-organisation": _("regional organisation"),
    "military-alliance": _("military alliance"),
    "economic-union": _("economic union"),
    "forum": _("forum"),
    "universal-organisation": _("universal organisation"),
    "informal-group": _("informal group"),
    "secretariat": _("secretariat"),
    "anti-terrorist-structure": _("anti-terrorist structure"),
    "anti-drug-centre": _("anti-drug centre"),
    "collective-force": _("collective force"),
    "staff": _("staff"),
    "council": _("council"),
    "centre": _("centre"),
    "other": _("other"),
    "treaty": _("treaty"),
    "charter": _("charter"),
    "convention": _("convention"),
    "agreement": _("agreement"),
    "declaration": _("declaration"),
    "protocol": _("protocol"),
    "mutual-assistance": _("mutual assistance"),
    "consultation": _("consultation"),
    "confidence-building": _("confidence building"),
    "non-aggression": _("non-aggression"),
    "counter-terrorism": _("counter-terrorism"),
    "arms-reduction": _("arms reduction"),
    "information-exchange": _("information exchange"),
    "non-alignment-against-parties": _("no alliances against the parties"),
    "day": _("day"),
    "month": _("month"),
    "year": _("year"),
    "in_force_unrecorded": _("entry into force not recorded"),
    "date_approximate": _("approximate date"),
    "agreement_uncertain": _("uncertain agreement data"),
    "party_uncertain": _("uncertain party data"),
    "obligation_uncertain": _("uncertain article"),
}

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def form_submission(page: Page) -> Submission:
    """A submission from a web form: browsers hold no signing key, so forms submit unsigned,
    which the node accepts only where its operator allows unsigned submissions."""
    return Submission(
        body={}, allow_unsigned=page.request.app.state.settings.allow_unsigned_submissions
    )


class Page:
    """What every page template needs: the locale, its gettext, the user and the CSRF token."""

    def __init__(
        self, request: Request, actor: Actor | None, csrf: str | None, display_name: str | None
    ) -> None:
        self.request = request
        self.actor = actor
        self.csrf = csrf
        self.display_name = display_name
        settings = request.app.state.settings
        self.locale = negotiate(
            request.cookies.get(LANG_COOKIE),
            request.headers.get("accept-language"),
            settings.default_locale,
        )
        self.translations = translations(self.locale)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = _env.get_template(template).render(
            _=self.gettext,
            page=self,
            locale=self.locale,
            languages=[(code, LANGUAGE_NAMES[code]) for code in LOCALES],
            # The whole local URL, query included, as one parameter value.
            path=quote(_local_url(self.request), safe=""),
            label=self.label,
            **context,
        )
        return HTMLResponse(html, status_code=status_code)

    def label(self, value: str | None) -> str:
        """A vocabulary value (status, kind, precision) in the page's language."""
        return self.gettext(LABELS.get(value or "", value or ""))

    def name(self, row: Any, stem: str = "name") -> str:
        """A row's name in the page's language, falling back to English."""
        localised = getattr(row, f"{stem}_{self.locale}", None)
        return str(localised or getattr(row, f"{stem}_en", None) or getattr(row, stem))

    def fuzzy(self, day: date | None, precision: str = "day") -> str:
        """A date shown no more exactly than it is known: ~1994, ~1994-05, 1994-05-15."""
        if day is None:
            return "—"
        if precision == "year":
            return f"~{day.year}"
        if precision == "month":
            return f"~{day.year}-{day.month:02d}"
        return day.isoformat()


def web_page(request: Request, session: DbSession) -> Page:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotAuthenticated(_("Not logged in."), code="no_session")
    resolved = auth_service.resolve_web_session(session, cookie)
    return Page(request, resolved.actor, resolved.csrf_token, resolved.display_name)


WebPage = Annotated[Page, Depends(web_page)]


def _local_url(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def is_page_request(request: Request) -> bool:
    """A person's browser asking for a page, as opposed to an API client or a static file."""
    path = request.url.path
    return not path.startswith(("/api/", "/static/"))


def maybe_redirect_to_login(request: Request, exc: IndivisibleError) -> Response | None:
    """People following a link without a session go to the login form; API clients get 401."""
    if not (isinstance(exc, NotAuthenticated) and is_page_request(request)):
        return None
    if request.headers.get("hx-request"):
        # A fragment request (the map) must not come back after login as a bare fragment:
        # send the whole page to the login form, returning to the page the person was on.
        current = urlsplit(request.headers.get("hx-current-url", "/"))
        back = current.path + (f"?{current.query}" if current.query else "")
        response = Response(status_code=204)
        response.headers["HX-Redirect"] = f"/login?next={quote(_safe_next(back), safe='')}"
        return response
    target = quote(_local_url(request), safe="")
    return RedirectResponse(f"/login?next={target}", status_code=303)


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse | None:
    """A page-sized error for people (a fragment for htmx); None for API clients."""
    if not is_page_request(request):
        return None
    page = Page(request, None, None, None)
    template = "_error.html" if request.headers.get("hx-request") else "error.html"
    return page.render(
        template, status_code=status, title=page.gettext(title), detail=detail, back=quote("/")
    )


def _check_form_csrf(page: Page, token: str) -> None:
    if not page.csrf or not same(token, page.csrf):
        raise PermissionDenied(_("Missing or wrong CSRF token."), code="csrf")


def _safe_next(target: str | None) -> str:
    # Only local paths, so the login form cannot be used to send people elsewhere.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    page = Page(request, None, None, None)
    token = new_secret("l_")
    response = page.render("login.html", next=_safe_next(next), login_csrf=token, error=None)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
    )
    return response


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=80, pattern=NO_NUL)],
    password: Annotated[str, Form(max_length=200, pattern=NO_NUL)],
    csrf: Annotated[str, Form(max_length=200, pattern=NO_NUL)],
    next: Annotated[str, Form(max_length=500, pattern=NO_NUL)] = "/",
) -> Response:
    page = Page(request, None, None, None)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not same(cookie, csrf):
        raise PermissionDenied(_("Missing or wrong CSRF token."), code="csrf")
    throttle: Throttle = request.app.state.throttle
    address = client_address(request.scope)
    wait = throttle.login_wait(username, address)
    if wait > 0:
        # Even the right password waits, or guessing would go on at the rate we answer.
        minutes = max(1, math.ceil(wait / 60))
        throttled = page.render(
            "login.html",
            status_code=429,
            next=_safe_next(next),
            login_csrf=csrf,
            error=page.gettext(_("Too many failed logins; try again in {minutes} minutes.")).format(
                minutes=minutes
            ),
        )
        throttled.headers["Retry-After"] = retry_after(wait)
        return throttled
    try:
        principal = auth_service.authenticate_password(session, username, password)
    except NotAuthenticated:
        throttle.login_failed(username, address)
        return page.render(
            "login.html",
            status_code=401,
            next=_safe_next(next),
            login_csrf=csrf,
            error=page.gettext("Wrong username or password."),
        )
    throttle.login_succeeded(username, address)
    settings = request.app.state.settings
    started = auth_service.start_web_session(
        session, principal, timedelta(hours=settings.session_ttl_hours)
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        started.cookie,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_ttl_hours * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    page: WebPage, session: DbSession, csrf: Annotated[str, Form(max_length=200)]
) -> Response:
    _check_form_csrf(page, csrf)
    cookie = page.request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth_service.end_web_session(session, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{code}")
def set_language(code: str, next: str | None = None) -> Response:
    """Remembers the chosen language; it changes nothing on the node, so GET is fine."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in LOCALES:
        response.set_cookie(LANG_COOKIE, code, samesite="lax", max_age=365 * 86400)
    return response


def _map_context(page: Page, session: DbSession, organisation: str, on: date) -> dict[str, Any]:
    members = service.members_on(session, organisation, on).members
    states = {
        s.code: s
        for s in session.scalars(
            select(State).where(State.code.in_({m.state_code for m in members}))
        )
    }
    fills = {m.state_code: STATUS_FILLS[m.status] for m in members if m.status in STATUS_FILLS}
    titles = {
        m.state_code: f"{page.name(states[m.state_code])} — {page.label(m.status)}" for m in members
    }
    by_status: dict[str, list[str]] = {}
    for m in members:
        by_status.setdefault(m.status, []).append(page.name(states[m.state_code]))
    org = service.get_organisation(session, organisation)
    return {
        "svg": render_svg(fills, titles=titles, label=page.gettext(_("World map"))),
        "organisation": org,
        "on": on,
        "by_status": by_status,
        "fills": STATUS_FILLS,
    }


@router.get("/", response_class=HTMLResponse)
def home(
    page: WebPage, session: DbSession, org: str = "SCO", on: date | None = None
) -> HTMLResponse:
    organisations = session.scalars(select(Organisation).order_by(Organisation.code)).all()
    codes = {o.code for o in organisations}
    chosen = org if org in codes else (organisations[0].code if organisations else None)
    context = _map_context(page, session, chosen, on or date.today()) if chosen else {}
    return page.render("home.html", organisations=organisations, chosen=chosen, **context)


@router.get("/map", response_class=HTMLResponse)
def map_fragment(
    page: WebPage, session: DbSession, org: str, on: Annotated[date | None, Query()] = None
) -> HTMLResponse:
    """The map alone, swapped in by htmx when the organisation or the date changes."""
    day = on or date.today()
    response = page.render("_map.html", **_map_context(page, session, org, day))
    # The address bar follows the choice, so the view can be bookmarked and shared.
    response.headers["HX-Replace-Url"] = f"/?org={quote(org, safe='')}&on={day.isoformat()}"
    return response


@router.get("/organisations/{code}", response_class=HTMLResponse)
def organisation_page(
    code: str, page: WebPage, session: DbSession, on: date | None = None
) -> HTMLResponse:
    day = on or date.today()
    organisation = service.organisation_detail(session, code)
    timeline = service.membership_timeline(session, code)
    states = {
        s.code: s
        for s in session.scalars(select(State).where(State.code.in_({r.state for r in timeline})))
    }
    start = min((p.valid_from for r in timeline for p in r.periods), default=day)
    end = date.today()
    span = max((end - start).days, 1)

    def bar(valid_from: date, valid_to: date | None) -> dict[str, float]:
        left = (valid_from - start).days / span * 100
        right = ((valid_to or end) - start).days / span * 100
        return {"left": round(left, 2), "width": round(max(right - left, 0.4), 2)}

    return page.render(
        "organisation.html",
        organisation=organisation,
        bodies=service.bodies_of(session, code),
        timeline=timeline,
        states=states,
        bar=bar,
        start=start,
        end=end,
        on=day,
        fills=STATUS_FILLS,
        **{
            k: v
            for k, v in _map_context(page, session, code, day).items()
            if k in ("svg", "by_status")
        },
    )


@router.get("/states/{code}", response_class=HTMLResponse)
def state_page(
    code: str, page: WebPage, session: DbSession, on: date | None = None
) -> HTMLResponse:
    day = on or date.today()
    state = service.get_state(session, code)
    return page.render(
        "state.html",
        state=state,
        on=day,
        standing=service.state_standing(session, code, day),
        assistance=service.bound_to_assist(session, code, day),
        belt=service.security_belt(session, code, day),
        names={s.code: page.name(s) for s in service.list_states(session)},
    )


@router.get("/agreements", response_class=HTMLResponse)
def agreements_page(page: WebPage, session: DbSession) -> HTMLResponse:
    return page.render("agreements.html", agreements=service.list_agreements(session))


@router.get("/agreements/{code}", response_class=HTMLResponse)
def agreement_page(code: str, page: WebPage, session: DbSession) -> HTMLResponse:
    return page.render(
        "agreement.html",
        agreement=service.agreement_detail(session, code),
        names={s.code: page.name(s) for s in service.list_states(session)},
    )


def mount(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)
