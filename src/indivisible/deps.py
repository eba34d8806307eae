"""Request dependencies: the unit of work and the acting principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

from anyio import CancelScope
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from indivisible.auth import service as auth_service
from indivisible.auth.principal import Actor
from indivisible.auth.secrets import same
from indivisible.auth.submissions import Submission
from indivisible.db import WRITES
from indivisible.errors import NotAuthenticated, PermissionDenied
from indivisible.i18n import _
from indivisible.sharing import pushes

SESSION_COOKIE = "indivisible_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_db(request: Request) -> AsyncIterator[Session]:
    """The request owns the transaction: commit if the route succeeds, roll back if it raises.

    An async dependency, so that opening the session, which does no I/O for a read, costs no
    hop to a worker thread and back (benchmarks/README.md, "The cost of every request"); what
    waits on the database runs in a worker thread, as sync routes do.
    """
    session: Session = request.app.state.session_factory()
    try:
        if request.method not in SAFE_METHODS:
            # A connection now, marked as writing: on SQLite the write lock, which may wait.
            await run_in_threadpool(session.connection, execution_options={WRITES: True})
        yield session
        await run_in_threadpool(_commit_and_close, session)
    except BaseException:
        # Even when the request is cancelled (the client left): the connection goes back clean.
        with CancelScope(shield=True):
            await run_in_threadpool(_roll_back_and_close, session)
        raise


def _commit_and_close(session: Session) -> None:
    # A failed commit raises into get_db, which rolls back and closes.
    session.commit()
    session.close()


def _roll_back_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


# scope="function" commits before the response is sent, so a failed commit is never reported as success.
DbSession = Annotated[Session, Depends(get_db, scope="function")]


async def _json_body(request: Request) -> Any:
    """The request body as sent (FastAPI has read it already), for the signature check."""
    try:
        return await request.json()
    except ValueError:
        return None


def submission(request: Request, body: Annotated[Any, Depends(_json_body)]) -> Submission:
    settings = request.app.state.settings
    return Submission(
        body=body if isinstance(body, dict) else {},
        allow_unsigned=settings.allow_unsigned_submissions,
        max_age=timedelta(hours=settings.signature_max_age_hours),
    )


# A submission that binds a state: its body as sent and the node's rule on unsigned ones.
Submitted = Annotated[Submission, Depends(submission)]


def push_proof(request: Request) -> pushes.Proof:
    return pushes.Proof(
        header=request.headers.get(pushes.HEADER),
        allow_unsigned=request.app.state.settings.allow_unsigned_submissions,
        signed_objects_required=request.app.state.settings.signed_objects_required,
    )


# What a linked node's account sends with its objects: its signature header, if any.
PushProof = Annotated[pushes.Proof, Depends(push_proof)]


# Declared so the OpenAPI description (and Swagger UI's Authorize button) shows the scheme;
# auto_error is off because a browser may authenticate with the session cookie instead.
bearer_scheme = HTTPBearer(auto_error=False, description="An API token: ind_...")


def current_actor(
    request: Request,
    session: DbSession,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Actor:
    """One authentication path for every route: a bearer API token or the web session cookie."""
    if bearer is not None and bearer.credentials:
        return auth_service.resolve_token(session, bearer.credentials.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        resolved = auth_service.resolve_web_session(session, cookie)
        # A browser sends cookies on cross-site requests, so every unsafe request must prove it
        # came from our own page.
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent or not same(sent, resolved.csrf_token):
                raise PermissionDenied(_("Missing or wrong CSRF token."), code="csrf")
        return resolved.actor
    raise NotAuthenticated(
        _("Authentication required: a bearer token or a session."), code="no_credentials"
    )


CurrentActor = Annotated[Actor, Depends(current_actor)]

# Row ids in paths: bounded to what an INTEGER column holds, so an absurd id is a 422, not a 500.
RowId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Row id.")]
