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
from indivisible.registry.models import State


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
        adopted_from=key.adopted_from,
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


def adopt(session: Session, actor: Actor, listed: list[KeyRead], source: str) -> list[StateKey]:
    """Keys of states signing on another node, as that node lists them (``GET
    /api/v1/auth/keys`` there), recorded here by the operator so that this node can check what
    those states signed (STIX objects forwarded by linked nodes). Running it again with a newer
    list records retirements and revocations; it never revives an ended key, and never moves a
    key to another state. ``source``: where the list came from, kept in the audit log."""
    if actor.role is not Role.admin:
        raise PermissionDenied(
            _("Only the node's operator adopts other nodes' state keys."), code="role_required"
        )
    adopted: list[StateKey] = []
    for n, entry in enumerate(listed):
        raw = public_key(entry.public_key)
        field = f"keys[{n}]"
        if signing.key_id(raw) != entry.id:
            raise InvalidInput(
                _("Key id {id} is not the id of the public key listed with it."),
                code="key_id_mismatch",
                field=f"{field}.id",
                params={"id": entry.id[:40]},
            )
        if entry.adopted_from is not None:
            # Trust does not chain: a key comes from the node where its state registered it.
            raise InvalidInput(
                _("Key {id} was adopted by that node too: adopt it from the node where its state registered it."),
                code="key_adopted_there",
                field=f"{field}.adopted_from",
                params={"id": entry.id[:40]},
            )  # fmt: skip
        if session.get(State, entry.state) is None:
            raise InvalidInput(
                _("No state {state} in the registry."),
                code="unknown_state",
                field=f"{field}.state",
                params={"state": entry.state[:10]},
            )
        key = session.get(StateKey, entry.id)
        before = None if key is None else _key_facts(key)
        if key is None:
            key = StateKey(
                id=entry.id,
                state_code=entry.state,
                public_key=base64.b64encode(raw).decode(),
                valid_from=entry.valid_from,
                registered_at=datetime.now(UTC),
                registered_by=actor.principal_id,
                adopted_from=source,
            )
            session.add(key)
        elif key.state_code != entry.state:
            raise Conflict(
                _("Key {id} is registered here for {state}."),
                code="key_other_state",
                field=f"{field}.state",
                params={"id": entry.id, "state": key.state_code},
            )
        if entry.valid_to is not None and key.valid_to is None:
            key.valid_to = entry.valid_to
        if entry.revoked_at is not None and key.revoked_at is None:
            key.revoked_at = entry.revoked_at
            key.revocation_reason = entry.revocation_reason
        session.flush()
        after = _key_facts(key)
        if after != before:
            record_change(
                session, actor, action="adopt", subject_type="state_key", subject_key=key.id,
                before=before, after={**after, "source": source},
            )  # fmt: skip
        adopted.append(key)
    return adopted


def _key_facts(key: StateKey) -> dict[str, str | None]:
    def moment(value: datetime | None) -> str | None:
        found = as_utc(value)
        return found.isoformat() if found is not None else None

    return {
        "state": key.state_code,
        "public_key": key.public_key,
        "valid_from": moment(key.valid_from),
        "valid_to": moment(key.valid_to),
        "revoked_at": moment(key.revoked_at),
    }


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


def check(session: Session, data: SignatureCheck, *, adopted: bool = True) -> SignatureVerdict:
    """Whether ``data.state`` signed the document with a key of its own that was valid at
    ``signed_at`` (not before its registration, not after its retirement or revocation).
    ``adopted``: whether a key the operator adopted from another node counts (not for
    submissions made here)."""
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
    if key.adopted_from is not None and not adopted:
        return verdict("adopted")
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
