"""Account rules: who may create whom, how credentials are issued, checked and revoked."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.orm import Session

from indivisible.audit.service import record_change, snapshot
from indivisible.auth import keys, repository, signing
from indivisible.auth.models import ApiToken, Principal, WebSession
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate, TokenCreate
from indivisible.auth.secrets import (
    TOKEN_PREFIX,
    digest,
    hash_password,
    new_secret,
    verify_password,
)
from indivisible.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from indivisible.i18n import _
from indivisible.registry.models import Body, State


def now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns; we only ever store UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def ensure_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise PermissionDenied(
            _("This needs one of the roles: {roles}."),
            code="role_required",
            params={"roles": allowed},
        )


def actor_for(session: Session, principal: Principal) -> Actor:
    organisation = None
    if principal.body_code:
        body = session.get(Body, principal.body_code)
        organisation = body.organisation_code if body else None
    return _actor(principal, principal.id, organisation)


def _actor(principal: Principal | Row[Any], principal_id: int, organisation: str | None) -> Actor:
    """``principal``: the mapped row, or plain columns of the same names."""
    return Actor(
        label=f"principal:{principal.username}",
        role=Role(principal.role),
        principal_id=principal_id,
        state_code=principal.state_code,
        body_code=principal.body_code,
        organisation_code=organisation,
    )


def create_principal(session: Session, actor: Actor, data: PrincipalCreate) -> Principal:
    ensure_role(actor, Role.admin)
    if data.role is not Role.admin and (data.state is None) == (data.body is None):
        raise InvalidInput(
            _("A principal acts for exactly one state or one organisation body."),
            code="state_or_body",
            field="state",
        )
    if data.state is not None and session.get(State, data.state) is None:
        raise InvalidInput(
            _("Unknown state code {code}."),
            code="unknown_state",
            field="state",
            params={"code": data.state},
        )
    if data.body is not None and session.get(Body, data.body) is None:
        raise InvalidInput(
            _("Unknown body code {code}."),
            code="unknown_body",
            field="body",
            params={"code": data.body},
        )
    if session.scalars(repository.principal_by_username(data.username)).first() is not None:
        raise Conflict(
            _("The username {username} is taken."),
            code="duplicate",
            field="username",
            params={"username": data.username},
        )
    principal = Principal(
        username=data.username,
        display_name=data.display_name,
        role=data.role.value,
        state_code=data.state,
        body_code=data.body,
        password_hash=hash_password(data.password) if data.password else None,
        active=True,
        created_at=now(),
    )
    session.add(principal)
    session.flush()
    after = snapshot(principal)
    after.pop("password_hash")
    record_change(
        session,
        actor,
        action="create",
        subject_type="principal",
        subject_key=principal.username,
        before=None,
        after=after,
    )
    return principal


def _principal(session: Session, username: str) -> Principal:
    principal = session.scalars(repository.principal_by_username(username)).first()
    if principal is None:
        raise NotFound(
            _("No principal {username}."), code="unknown_principal", params={"username": username}
        )
    return principal


def _end_sessions(session: Session, principal_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.principal_id == principal_id))


def set_password(session: Session, actor: Actor, username: str, password: str) -> Principal:
    """A new password ends every web session of the account: whoever knew the old one is out."""
    ensure_role(actor, Role.admin)
    principal = _principal(session, username)
    principal.password_hash = hash_password(password)
    _end_sessions(session, principal.id)
    session.flush()
    record_change(
        session,
        actor,
        action="set_password",
        subject_type="principal",
        subject_key=username,
        before=None,
        after=None,
    )
    return principal


def set_active(session: Session, actor: Actor, username: str, active: bool) -> Principal:
    """Disabling an account refuses its tokens and sessions at once; enabling restores tokens."""
    ensure_role(actor, Role.admin)
    principal = _principal(session, username)
    before = principal.active
    principal.active = active
    if not active:
        _end_sessions(session, principal.id)
    session.flush()
    record_change(
        session,
        actor,
        action="enable" if active else "disable",
        subject_type="principal",
        subject_key=username,
        before={"active": before},
        after={"active": active},
    )
    return principal


def set_node_key(session: Session, actor: Actor, username: str, public_key: str) -> Principal:
    """Register the key a linked node signs its pushes with, on that node's account here
    (replacing any earlier one): from then on its pushes must carry a signature by it."""
    ensure_role(actor, Role.admin)
    principal = _principal(session, username)
    if principal.role != Role.node.value:
        raise InvalidInput(
            _("Only a linked node's account has a node key; {username} is not one."),
            code="not_a_node_account",
            field="username",
            params={"username": username},
        )
    raw = keys.public_key(public_key)
    before = principal.node_public_key
    principal.node_public_key = base64.b64encode(raw).decode()
    session.flush()
    record_change(
        session,
        actor,
        action="set_node_key",
        subject_type="principal",
        subject_key=username,
        before={"node_key": signing.key_id(base64.b64decode(before)) if before else None},
        after={"node_key": signing.key_id(raw)},
    )
    return principal


def list_principals(session: Session, actor: Actor) -> list[Principal]:
    ensure_role(actor, Role.admin)
    return list(session.scalars(select(Principal).order_by(Principal.username)))


def authenticate_password(session: Session, username: str, password: str) -> Principal:
    principal = session.scalars(repository.principal_by_username(username)).first()
    # Hash even when the user is unknown so that timing does not reveal which usernames exist.
    stored = principal.password_hash if principal and principal.password_hash else None
    ok = verify_password(stored or _DUMMY_HASH, password) and stored is not None
    if not ok or principal is None or not principal.active:
        raise NotAuthenticated(_("Wrong username or password."), code="bad_credentials")
    return principal


_DUMMY_HASH = hash_password("not-a-real-password-only-for-timing")


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


def issue_token(
    session: Session, actor: Actor, data: TokenCreate, *, for_username: str | None = None
) -> IssuedToken:
    """Create an API token for the actor, or (admins only) for another principal."""
    owner_id = actor.principal_id
    if for_username is not None:
        ensure_role(actor, Role.admin)
        owner = session.scalars(repository.principal_by_username(for_username)).first()
        if owner is None:
            raise NotFound(
                _("No principal {username}."),
                code="unknown_principal",
                params={"username": for_username},
            )
        owner_id = owner.id
    if owner_id is None:
        raise InvalidInput(_("A token must belong to a principal."), code="owner_required")
    secret = new_secret()
    token = ApiToken(
        principal_id=owner_id,
        name=data.name,
        prefix=secret[:10],
        token_hash=digest(secret),
        created_at=now(),
        expires_at=now() + timedelta(days=data.expires_in_days),
    )
    session.add(token)
    session.flush()
    after = snapshot(token)
    after.pop("token_hash")
    record_change(
        session,
        actor,
        action="create",
        subject_type="api_token",
        subject_key=str(token.id),
        before=None,
        after=after,
    )
    return IssuedToken(token, secret)


def list_tokens(session: Session, actor: Actor, *, username: str | None = None) -> list[ApiToken]:
    principal_id = actor.principal_id
    if username is not None:
        ensure_role(actor, Role.admin)
        owner = session.scalars(repository.principal_by_username(username)).first()
        if owner is None:
            raise NotFound(
                _("No principal {username}."),
                code="unknown_principal",
                params={"username": username},
            )
        principal_id = owner.id
    if principal_id is None:
        return []
    return list(session.scalars(repository.tokens_of(principal_id)))


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    # Someone else's token is reported missing, not forbidden, so ids reveal nothing.
    if token is None or (actor.role is not Role.admin and token.principal_id != actor.principal_id):
        raise NotFound(_("No token {id}."), code="unknown_token", params={"id": token_id})
    if token.revoked_at is None:
        before = snapshot(token)
        token.revoked_at = now()
        session.flush()
        record_change(
            session,
            actor,
            action="revoke",
            subject_type="api_token",
            subject_key=str(token.id),
            before={k: v for k, v in before.items() if k != "token_hash"},
            after={k: v for k, v in snapshot(token).items() if k != "token_hash"},
        )
    return token


def resolve_token(session: Session, secret: str) -> Actor:
    row = session.execute(repository.TOKEN_BY_HASH, {"token_hash": digest(secret)}).first()
    if row is None:
        raise NotAuthenticated(_("Unknown API token."), code="bad_token")
    moment = now()
    if row.revoked_at is not None:
        raise NotAuthenticated(_("This API token was revoked."), code="token_revoked")
    if row.expires_at is not None and _aware(row.expires_at) <= moment:
        raise NotAuthenticated(_("This API token has expired."), code="token_expired")
    if not row.active:
        raise NotAuthenticated(_("This account is disabled."), code="account_disabled")
    # Recorded to the minute, not on every request: a TAXII client paging through a collection
    # would otherwise turn each read into a write. One UPDATE in the request's transaction.
    if row.last_used_at is None or moment - _aware(row.last_used_at) > LAST_USED_RESOLUTION:
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=moment))
    return _actor(row, row.principal_id, row.organisation_code)


LAST_USED_RESOLUTION = timedelta(minutes=1)

# HTTP Basic sends the password with every request and argon2id is slow on purpose, so a
# verified (username, password) pair is remembered for a minute, by digest only, in this
# process. Disabling an account or changing its password takes effect at the next expiry.
_BASIC_TTL = 60.0
_BASIC_CACHE_SIZE = 1024
_basic_cache: dict[str, tuple[int, float]] = {}


def resolve_basic(session: Session, username: str, password: str) -> Actor:
    """The actor for HTTP Basic credentials: a password, or one of the account's API tokens."""
    if password.startswith(TOKEN_PREFIX):
        actor = resolve_token(session, password)
        principal = session.get(Principal, actor.principal_id)
        if principal is None or principal.username != username:
            raise NotAuthenticated(_("Wrong username or password."), code="bad_credentials")
        return actor
    key = digest(f"{username}\0{password}")
    cached = _basic_cache.get(key)
    if cached is not None and cached[1] > time.monotonic():
        principal = session.get(Principal, cached[0])
        if principal is not None and principal.active and principal.username == username:
            return actor_for(session, principal)
    principal = authenticate_password(session, username, password)
    if len(_basic_cache) >= _BASIC_CACHE_SIZE:
        _basic_cache.clear()
    _basic_cache[key] = (principal.id, time.monotonic() + _BASIC_TTL)
    return actor_for(session, principal)


@dataclass(frozen=True)
class StartedSession:
    cookie: str
    csrf_token: str
    expires_at: datetime


def start_web_session(session: Session, principal: Principal, ttl: timedelta) -> StartedSession:
    cookie = new_secret("s_")
    csrf = new_secret("c_")
    expires = now() + ttl
    session.add(
        WebSession(
            principal_id=principal.id,
            session_hash=digest(cookie),
            csrf_token=csrf,
            created_at=now(),
            expires_at=expires,
        )
    )
    session.flush()
    return StartedSession(cookie, csrf, expires)


@dataclass(frozen=True)
class ResolvedSession:
    actor: Actor
    csrf_token: str
    display_name: str


def resolve_web_session(session: Session, cookie: str) -> ResolvedSession:
    row = session.execute(repository.session_by_hash(digest(cookie))).first()
    if row is None:
        raise NotAuthenticated(_("Not logged in."), code="no_session")
    web_session, principal = row
    if _aware(web_session.expires_at) <= now() or not principal.active:
        raise NotAuthenticated(_("The session has expired."), code="session_expired")
    return ResolvedSession(
        actor_for(session, principal), web_session.csrf_token, principal.display_name
    )


def end_web_session(session: Session, cookie: str) -> None:
    row = session.execute(repository.session_by_hash(digest(cookie))).first()
    if row is not None:
        session.delete(row[0])
        session.flush()
