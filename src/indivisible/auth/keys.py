"""States' signing keys: registered by the state's liaison officers, retired on rotation
(what was signed before still verifies) or revoked on compromise (nothing signed after
verifies), and the check of a signature against the key valid when it was made."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from indivisible.audit.service import record_change
from indivisible.auth import signing
from indivisible.auth.models import StateKey
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import KeyCreate, KeyEnd, KeyRead, SignatureCheck, SignatureVerdict
from indivisible.db import as_utc
from indivisible.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from indivisible.i18n import _


def _liaison(actor: Actor) -> str:
    if actor.role is not Role.liaison or actor.state_code is None:
        raise PermissionDenied(
            _("Only a state's liaison officers manage its signing keys."), code="role_required"
        )
    return actor.state_code


def read(key: StateKey) -> KeyRead:
    return KeyRead(
        id=key.id,
        state=key.state_code,
        public_key=key.public_key,
        valid_from=as_utc(key.valid_from) or key.valid_from,
        valid_to=as_utc(key.valid_to),
        revoked_at=as_utc(key.revoked_at),
        revocation_reason=key.revocation_reason,
    )


def public_key(text: str) -> bytes:
    """The raw key of a public key given as input, or the error that names the field."""
    try:
        return signing.public_bytes(text)
    except signing.BadKey as exc:
        raise InvalidInput(
            _("Not an Ed25519 public key: {why}."),
            code="bad_key",
            field="public_key",
            params={"why": str(exc)},
        ) from exc


def register(session: Session, actor: Actor, data: KeyCreate) -> StateKey:
    """A key valid from now: never backdated, so that a new key cannot sign the past."""
    state = _liaison(actor)
    raw = public_key(data.public_key)
    identifier = signing.key_id(raw)
    if session.get(StateKey, identifier) is not None:
        raise Conflict(_("This key is registered already."), code="key_exists", field="public_key")
    now = datetime.now(UTC)
    key = StateKey(
        id=identifier,
        state_code=state,
        public_key=base64.b64encode(raw).decode(),
        valid_from=now,
        registered_at=now,
        registered_by=actor.principal_id,
    )
    session.add(key)
    session.flush()
    record_change(
        session, actor, action="register", subject_type="state_key", subject_key=identifier,
        before=None, after={"state": state, "public_key": key.public_key},
    )  # fmt: skip
    return key


def _own_key(session: Session, actor: Actor, key_id: str) -> StateKey:
    state = _liaison(actor)
    key = session.get(StateKey, key_id)
    if key is None or key.state_code != state:
        raise NotFound(_("No key {id}."), code="unknown_key", params={"id": key_id})
    return key


def end(session: Session, actor: Actor, key_id: str, data: KeyEnd, *, revoke: bool) -> StateKey:
    key = _own_key(session, actor, key_id)
    if key.revoked_at is not None or (key.valid_to is not None and not revoke):
        raise Conflict(_("This key is no longer in use."), code="key_ended")
    now = datetime.now(UTC)
    if revoke:
        key.revoked_at = now
        key.revocation_reason = data.reason
    else:
        key.valid_to = now
    session.flush()
    record_change(
        session, actor, action="revoke" if revoke else "retire", subject_type="state_key",
        subject_key=key.id, before=None, after={"at": now.isoformat(), "reason": data.reason},
    )  # fmt: skip
    return key


def keys(session: Session, state: str | None) -> list[StateKey]:
    """Public keys are public: any signed-in principal may read them."""
    stmt = select(StateKey).order_by(StateKey.state_code, StateKey.valid_from)
    if state is not None:
        stmt = stmt.where(StateKey.state_code == state)
    return list(session.scalars(stmt))


def check(session: Session, data: SignatureCheck) -> SignatureVerdict:
    """Whether ``data.state`` signed the document with a key of its own that was valid at
    ``signed_at`` (not before its registration, not after its retirement or revocation)."""
    key_id = data.signature.key_id

    def verdict(reason: str) -> SignatureVerdict:
        return SignatureVerdict(
            valid=reason == "ok", reason=reason, key_id=key_id, state=data.state
        )

    key = session.get(StateKey, key_id)
    if key is None:
        return verdict("unknown_key")
    if key.state_code != data.state:
        return verdict("other_state")
    at = data.signed_at.astimezone(UTC)
    # A minute of clock skew between the signer and the node.
    if at < (as_utc(key.valid_from) or at) - timedelta(minutes=1):
        return verdict("not_yet_valid")
    revoked = as_utc(key.revoked_at)
    if revoked is not None and at >= revoked:
        return verdict("revoked")
    retired = as_utc(key.valid_to)
    if retired is not None and at >= retired:
        return verdict("retired")
    try:
        signing.canonical(data.document)
    except ValueError as exc:
        raise InvalidInput(
            _("Not canonical JSON (RFC 8785): {why}."),
            code="not_canonical",
            field="document",
            params={"why": str(exc)},
        ) from exc
    raw = base64.b64decode(key.public_key)
    if not signing.verify(raw, data.document, data.signature.signature):
        return verdict("bad_signature")
    return verdict("ok")
