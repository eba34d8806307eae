"""Request dependencies: the unit of work and the acting principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from indivisible.auth import service as auth_service
from indivisible.auth.principal import Actor
from indivisible.auth.secrets import same
from indivisible.errors import NotAuthenticated, PermissionDenied
from indivisible.i18n import _

SESSION_COOKIE = "indivisible_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request) -> Iterator[Session]:
    """The request owns the transaction: commit if the route succeeds, roll back if it raises."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function" commits before the response is sent, so a failed commit is never reported as success.
DbSession = Annotated[Session, Depends(get_db, scope="function")]


def current_actor(request: Request, session: DbSession) -> Actor:
    """One authentication path for every route: a bearer API token or the web session cookie."""
    header = request.headers.get("authorization", "")
    scheme, _space, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return auth_service.resolve_token(session, credentials.strip())
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
