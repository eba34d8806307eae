"""The FastAPI application factory: engines are opened in the lifespan, routes are mounted here."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from indivisible import __version__
from indivisible.admission import Admission
from indivisible.audit import ledger
from indivisible.auth.throttle import RateLimit, retry_after, throttle_for
from indivisible.cbm import events as cbm_events
from indivisible.cbm import service as cbm_service
from indivisible.config import Settings, get_settings
from indivisible.db import make_engine, make_session_factory, unavailable, unit_of_work
from indivisible.deps import SESSION_COOKIE
from indivisible.errors import (
    IndivisibleError,
    InvalidInput,
    NotAuthenticated,
    PayloadTooLarge,
    TooManyRequests,
)
from indivisible.i18n import LANG_COOKIE, _, negotiate, translations
from indivisible.i18n.validation import describe
from indivisible.sharing.taxii import TAXII, is_taxii
from indivisible.sharing.taxii import error_body as taxii_error

PROBLEM = "application/problem+json"
logger = logging.getLogger("indivisible")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def request_gettext(request: Request) -> Callable[[str], str]:
    """Translations for the language the client asked for (the UI's cookie, then Accept-Language)."""
    settings: Settings = request.app.state.settings
    locale = negotiate(
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
        settings.default_locale,
    )
    return translations(locale).gettext


def problem_response(error: IndivisibleError, request: Request) -> JSONResponse:
    # RFC 9110: a 401 names the scheme the client should use.
    headers = (
        {"WWW-Authenticate": 'Bearer realm="indivisible"'}
        if isinstance(error, NotAuthenticated)
        else None
    )
    # 429 and 503 tell the client when to come back.
    retry = getattr(error, "retry_after", None)
    if retry is not None:
        headers = {**(headers or {}), "Retry-After": str(retry)}
    if is_taxii(request.url.path):
        if headers:
            headers["WWW-Authenticate"] = 'Basic realm="indivisible", Bearer realm="indivisible"'
        return JSONResponse(
            taxii_error(error, request_gettext(request)),
            status_code=error.status,
            media_type=TAXII,
            headers=headers,
        )
    return JSONResponse(
        error.problem(instance=request.url.path, gettext=request_gettext(request)),
        status_code=error.status,
        media_type=PROBLEM,
        headers=headers,
    )


def _taxii_answer(
    status: int,
    title: str,
    description: str,
    problems: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "title": title,
        "description": description,
        "http_status": str(status),
    }
    if problems:
        body["details"] = {"errors": problems}
    return JSONResponse(body, status_code=status, media_type=TAXII, headers=headers)


class Guard:
    """Pure ASGI guard in front of the app: refuses what the app must never see, and adds the
    security headers to every answer.

    - NUL characters in the path or query (PostgreSQL cannot store them): 422.
    - Bodies over the limit, declared or streamed (chunked): 413. The body is read here, up to
      the limit, and replayed to the app, so an oversize upload never reaches a parser.
    """

    def __init__(self, app: ASGIApp, limit: int, taxii_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.taxii_limit = taxii_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _value in headers}
                headers += [
                    (name.encode(), value.encode())
                    for name, value in SECURITY_HEADERS.items()
                    if name.encode() not in present
                ]
                message["headers"] = headers
            await send(message)

        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"").lower():
            error = InvalidInput(_("URLs may not contain NUL characters."), code="nul_in_url")
            await problem_response(error, Request(scope))(scope, _no_receive, send_with_headers)
            return
        limit = self.taxii_limit if is_taxii(scope.get("path", "")) else self.limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send_with_headers, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                # The client left mid-upload: a partial body must never be handled as a whole one.
                return
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, send_with_headers, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send_with_headers)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        error = PayloadTooLarge(
            _("The request body is over this node's limit of {limit} bytes."),
            code="too_large",
            params={"limit": limit},
        )
        # Only the headers are read, for the language of the answer; the body is never touched.
        await problem_response(error, Request(scope))(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


# The lifespan's loops that use the database, each a connection at most: webhook delivery and
# the audit sealer.
BACKGROUND_ROUNDS = 2

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
}


def _deliver_once(app: FastAPI) -> None:
    with unit_of_work(app.state.session_factory) as session:
        cbm_events.deliver_due(session)


async def _every(interval: float, work: Callable[[], None], what: str) -> None:
    """Runs ``work`` in a thread every ``interval`` seconds while the node runs; a failure is
    logged and retried on the next round, never allowed to stop the loop. The database being
    busy or down is expected now and then (SQLite's one writer, a PostgreSQL restart): one
    line says so, where a traceback would bury the failures that are bugs."""
    while True:
        try:
            await asyncio.to_thread(work)
        except Exception as exc:
            outage = unavailable(exc)
            if outage is not None:
                logger.warning(
                    "%s round skipped (%s); retrying in %s s", what, outage.code, interval
                )
            else:
                logger.exception("%s round failed", what)
        await asyncio.sleep(interval)


def _sealer(app: FastAPI, settings: Settings) -> Callable[[], None]:
    key = ledger.load_or_create_node_key(settings.node_key_file())
    interval = timedelta(seconds=settings.audit_tree_head_interval_seconds)

    def seal_once() -> None:
        with unit_of_work(app.state.session_factory) as session:
            if ledger.has_work(session, interval):
                ledger.seal(session, key=key, head_interval=interval)

    return seal_once


# Objects allocated between collections of the youngest generation: 700 by default.
YOUNG_GENERATION_THRESHOLD = 20_000
_heap_settled = False


def settle_heap() -> None:
    """Once per process, when the node has started: what start-up made (modules, the OASIS
    validator's grammar, rule sets, border geometry: about 400,000 objects) lives as long as
    the process, and each full collection of the cyclic garbage collector walked all of it, a
    pause of 150 to 230 ms of every request in the worker (benchmarks/README.md, "The garbage
    collector"). Frozen, it is left out of collections. And the youngest generation is
    collected every 20,000 allocations instead of 700: most of a request's objects are freed
    by their reference count before then, so a collection finds fewer and runs less often."""
    global _heap_settled
    if _heap_settled:
        return
    _heap_settled = True
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A broken rule-set file of the operator's stops the node here, naming the file,
        # instead of leaving a regime silently unchecked.
        cbm_service.rule_sets()
        # Loaded by the first STIX submission otherwise, which would wait a second for it.
        importlib.import_module("indivisible.sharing.validation")
        loops = []
        if settings.webhook_interval_seconds > 0:
            loops.append(
                _every(
                    settings.webhook_interval_seconds,
                    lambda: _deliver_once(app),
                    "webhook delivery",
                )
            )
        if settings.audit_seal_interval_seconds > 0:
            loops.append(
                _every(
                    settings.audit_seal_interval_seconds, _sealer(app, settings), "audit sealing"
                )
            )
        tasks = [asyncio.create_task(loop) for loop in loops]
        settle_heap()
        yield
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        app.state.engine.dispose()

    app = FastAPI(
        title="Indivisible",
        version=__version__,
        summary="Registry of a collective-security architecture",
        openapi_url="/api/v1/openapi.json",
        # FastAPI's own page loads Swagger UI from a CDN with an inline script, which the CSP
        # refuses and an offline node cannot reach; web/apidocs.py serves a vendored copy.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    # Engines are created here rather than on import so that tests and workers choose their own.
    app.state.settings = settings
    # A connection for each admitted request and for each background round (the audit sealer,
    # webhook delivery); the pool's overflow (10) is left for event streams' short reads.
    app.state.engine = make_engine(
        settings.database_url, pool_size=settings.max_requests_in_flight + BACKGROUND_ROUNDS
    )
    app.state.session_factory = make_session_factory(app.state.engine)
    app.state.throttle = throttle_for(settings)

    @app.exception_handler(IndivisibleError)
    async def _domain_error(request: Request, exc: IndivisibleError) -> Response:
        from indivisible.web.pages import error_page, maybe_redirect_to_login

        if is_taxii(request.url.path):
            return problem_response(exc, request)
        redirect = maybe_redirect_to_login(request, exc)
        if redirect is not None:
            return redirect
        gettext = request_gettext(request)
        page = error_page(request, exc.status, exc.title, exc.text(gettext))
        return page if page is not None else problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        from indivisible.web.pages import error_page

        gettext = request_gettext(request)
        problems = []
        for err in exc.errors():
            # For unparseable JSON Pydantic gives the character offset as the location.
            loc = (
                []
                if err.get("type") == "json_invalid"
                else [str(p) for p in err.get("loc", ()) if p != "body"]
            )
            problems.append(
                {
                    "field": ".".join(loc) or "body",
                    "rule": err.get("type", "invalid"),
                    "message": describe(err, gettext),
                }
            )
        body = {
            "type": "urn:indivisible:error:invalid_input",
            "title": gettext("Invalid input"),
            "status": 422,
            "detail": "; ".join(f"{p['field']}: {p['message']}" for p in problems),
            "code": "invalid_input",
            "instance": request.url.path,
            "errors": problems,
        }
        if is_taxii(request.url.path):
            return _taxii_answer(422, gettext("Invalid input"), str(body["detail"]), problems)
        page = error_page(request, 422, _("Invalid input"), str(body["detail"]))
        return page if page is not None else JSONResponse(body, status_code=422, media_type=PROBLEM)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        from indivisible.web.pages import error_page

        if is_taxii(request.url.path):
            return _taxii_answer(
                exc.status_code, str(exc.detail), str(exc.detail), headers=exc.headers
            )
        if exc.status_code == 404:
            page = error_page(
                request, 404, _("Not found"), request_gettext(request)(_("There is no such page."))
            )
            if page is not None:
                return page
        body = {
            "type": "about:blank",
            "title": str(exc.detail),
            "status": exc.status_code,
            "detail": str(exc.detail),
            "instance": request.url.path,
        }
        return JSONResponse(
            body, status_code=exc.status_code, media_type=PROBLEM, headers=exc.headers
        )

    # Registered for the database's errors rather than folded into _unexpected: a handler of
    # Exception answers from Starlette's outermost layer and re-raises, so every request
    # during an outage would be logged as a crash. Errors at commit time come here too, since
    # get_db commits before the response is sent.
    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _database_unavailable(request: Request, exc: Exception) -> Response:
        from indivisible.web.pages import error_page

        error = unavailable(exc)
        if error is None:
            raise exc  # a bug, not an outage: on to _unexpected, logged with its traceback
        # An outage is the operator's to see in the log, once a request, without a traceback.
        logger.warning(
            "%s on %s %s: %s",
            error.code,
            request.method,
            request.url.path,
            exc.orig if isinstance(exc, DBAPIError) else exc,
        )
        retry = {"Retry-After": str(error.retry_after)}
        if is_taxii(request.url.path):
            answer: Response = problem_response(error, request)
        else:
            gettext = request_gettext(request)
            page = error_page(request, error.status, error.title, error.text(gettext))
            answer = page if page is not None else problem_response(error, request)
        answer.headers.update(retry)
        return answer

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not bad input: log it with its traceback, tell the client nothing internal.
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        body = {
            "type": "about:blank",
            "title": request_gettext(request)(_("Internal error")),
            "status": 500,
            "detail": request_gettext(request)(
                _("The node could not complete this request; the error has been logged.")
            ),
            "instance": request.url.path,
        }
        # This answer leaves through Starlette's outermost layer, past the guard: add the headers here.
        if is_taxii(request.url.path):
            return _taxii_answer(
                500, str(body["title"]), str(body["detail"]), headers=SECURITY_HEADERS
            )
        return JSONResponse(body, status_code=500, media_type=PROBLEM, headers=SECURITY_HEADERS)

    from indivisible.audit.api import log_router as audit_log_router
    from indivisible.audit.api import router as audit_router
    from indivisible.auth.api import router as auth_router
    from indivisible.cbm.api import router as cbm_router
    from indivisible.crisis.api import router as crisis_router
    from indivisible.registry.api import router as registry_router
    from indivisible.sharing.api import router as sharing_router
    from indivisible.sharing.taxii import router as taxii_router
    from indivisible.warning.api import router as warning_router
    from indivisible.web.apidocs import router as apidocs_router
    from indivisible.web.cbm_pages import router as cbm_pages
    from indivisible.web.crisis_pages import router as crisis_pages
    from indivisible.web.pages import mount as mount_web
    from indivisible.web.sharing_pages import router as sharing_pages
    from indivisible.web.warning_pages import router as warning_pages

    # A request is matched against the routers in this order, each route tried in turn: with
    # FastAPI's included routers that cost up to half a millisecond a request for those near
    # the end (benchmarks/README.md, "The cost of every request"). So the routes machines call
    # most come first: CBM notifications and TAXII, then the other APIs, then the web UI. No
    # two routers' paths overlap, so the order changes nothing else.
    for router in (
        cbm_router,
        taxii_router,
        crisis_router,
        registry_router,
        warning_router,
        sharing_router,
        auth_router,
        audit_router,
        audit_log_router,
        cbm_pages,
        sharing_pages,
        crisis_pages,
        warning_pages,
        apidocs_router,
    ):
        app.include_router(router)

    @app.get("/api/v1/health", tags=["node"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    mount_web(app)

    async def rate_limited(scope: Scope, send: Send, wait: float) -> None:
        error = TooManyRequests(
            _("Too many requests; try again in {seconds} seconds."),
            code="rate_limited",
            params={"seconds": retry_after(wait)},
            retry_after=int(retry_after(wait)),
        )
        await problem_response(error, Request(scope))(scope, _no_receive, send)

    # Innermost of the three: a refused request never waits in line, and a large body is read
    # (by the Guard) before the request takes a place.
    app.add_middleware(Admission, limit=settings.max_requests_in_flight)
    # Inside the Guard, so that a 429 carries the security headers too.
    app.add_middleware(
        RateLimit,
        throttle=lambda: app.state.throttle,
        refuse=rate_limited,
        session_cookie=SESSION_COOKIE,
    )
    app.add_middleware(
        Guard, limit=settings.max_body_bytes, taxii_limit=settings.taxii_max_content_length
    )
    return app
