"""Signed federation pushes: a node signs each envelope it pushes to a linked node with its own
Ed25519 key (the one that signs its audit tree heads), and the receiving node checks it against
the key its operator registered for that node's account before storing anything.

The signature travels in one header, so that the envelope stays a plain TAXII envelope any
server accepts::

    Indivisible-Signature: key_id=<hex>; signed_at=<RFC 3339 UTC>; signature=<base64>

and covers the RFC 8785 canonical form of::

    {"type": "indivisible.federation.push", "collection": "<the receiving collection's id>",
     "signed_at": "<as in the header>", "content": {"objects": [...]}}

so that it cannot be replayed into another collection, or long after. The receiving node keeps
the document, key and signature as a receipt (``PushReceipt``), which anyone can check again
offline (``indivisible keys verify-item``), and every object stored from the envelope points to
it. What the node's objects say was written by states on the other node; the signature binds
the node that forwarded them, not those states. Objects a state signed itself carry that
signature inside them (``signatures``), and it is checked here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from indivisible.auth import signing, submissions
from indivisible.auth.models import Principal
from indivisible.auth.principal import Actor, Role
from indivisible.auth.service import ensure_role
from indivisible.db import add_once, as_utc
from indivisible.errors import Conflict, InvalidInput
from indivisible.i18n import _
from indivisible.sharing.models import PushReceipt

HEADER = "Indivisible-Signature"
TYPE = "indivisible.federation.push"
# A pushing node's clock may run a little ahead; a push is sent as soon as it is signed.
CLOCK_SKEW = timedelta(minutes=5)
MAX_AGE = timedelta(hours=1)
_FIELD = re.compile(r"\s*([a-z_]+)=([^;]*)")


@dataclass(frozen=True)
class Proof:
    """What came with a post: a node account's signature header as sent (None: absent), this
    node's rule on unsigned pushes, and whether it takes only objects signed by their state
    (``signatures``)."""

    header: str | None
    allow_unsigned: bool
    signed_objects_required: bool = False


def document(collection_id: str, signed_at: str, objects: list[Any]) -> dict[str, Any]:
    return {
        "type": TYPE,
        "collection": collection_id,
        "signed_at": signed_at,
        "content": {"objects": objects},
    }


def sign(private: Ed25519PrivateKey, collection_id: str, objects: list[Any]) -> str:
    """The header value for pushing ``objects`` into the remote collection ``collection_id``."""
    moment = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    made = signing.sign(private, document(collection_id, moment, objects))
    return f"key_id={made['key_id']}; signed_at={moment}; signature={made['signature']}"


def _refuse(message: str, code: str, **params: Any) -> InvalidInput:
    return InvalidInput(message, code=code, field=HEADER, params=params)


def _parse(header: str) -> dict[str, str]:
    fields = {m.group(1): m.group(2).strip() for m in _FIELD.finditer(header)}
    if not {"key_id", "signed_at", "signature"} <= fields.keys():
        raise _refuse(
            _("The {header} header needs key_id, signed_at and signature."),
            "push_signature_malformed",
            header=HEADER,
        )
    return fields


def receive(
    session: Session, actor: Actor, collection_id: str, objects: list[Any], proof: Proof
) -> PushReceipt:
    """Check a node account's post and record its receipt; an absent signature is refused
    unless the node allows unsigned submissions and no key is registered for the account, and
    a wrong one always, naming the reason."""
    account = session.get(Principal, actor.principal_id) if actor.principal_id else None
    if actor.role is not Role.node or account is None:
        raise ValueError("only a linked node's account pushes")
    now = datetime.now(UTC)
    receipt = PushReceipt(
        principal_id=account.id,
        origin=account.username,
        collection_id=collection_id,
        received_at=now,
        signed=proof.header is not None,
    )
    if proof.header is None:
        # A node whose key is registered signs; an unsigned post in its name is not its own.
        if not proof.allow_unsigned or account.node_public_key is not None:
            raise _refuse(
                _("This node accepts only signed pushes: send the {header} header."),
                "push_signature_required",
                header=HEADER,
            )
        session.add(receipt)
        session.flush()
        return receipt
    fields = _parse(proof.header)
    if account.node_public_key is None:
        raise _refuse(
            _("No key is registered for node account {account}: its operator must register one."),
            "push_key_unknown",
            account=account.username,
        )
    public = signing.public_bytes(account.node_public_key)
    if fields["key_id"] != signing.key_id(public):
        raise _refuse(
            _("Key {key} is not the key registered for node account {account}."),
            "push_key_other",
            key=fields["key_id"][:40],
            account=account.username,
        )
    try:
        signed_at = datetime.fromisoformat(fields["signed_at"].replace("Z", "+00:00"))
    except ValueError:
        signed_at = None
    if signed_at is None or signed_at.tzinfo is None:
        raise _refuse(_("signed_at must be an RFC 3339 time in UTC."), "push_signature_malformed")
    if signed_at > now + CLOCK_SKEW:
        raise _refuse(
            _("Signed in the future: check the signing machine's clock."), "push_signed_in_future"
        )
    if signed_at < now - MAX_AGE:
        raise _refuse(
            _("Signed more than {minutes} minutes ago: sign it again."),
            "push_signature_too_old",
            minutes=int(MAX_AGE.total_seconds() // 60),
        )
    signed = document(collection_id, fields["signed_at"], objects)
    try:
        data = signing.canonical(signed)
    except ValueError as exc:
        raise _refuse(
            _("The envelope cannot be put in canonical form (RFC 8785), so no signature can cover it: {reason}"),
            "push_not_canonical",
            reason=str(exc)[:200],
        ) from exc  # fmt: skip
    if not signing.verify_canonical(public, data, fields["signature"]):
        raise _refuse(
            _("The signature does not match the push: it was changed after signing, sent to another collection, or signed with another key."),
            "push_signature_bad",
        )  # fmt: skip
    receipt.key_id = fields["key_id"]
    receipt.public_key = account.node_public_key
    receipt.signed_at = signed_at
    receipt.signature = fields["signature"]
    receipt.document = signed
    if not add_once(session, receipt):
        raise Conflict(
            _("This signed push was received already."), code="push_replayed", field=HEADER
        )
    return receipt


def read(receipt: PushReceipt) -> dict[str, Any]:
    """The receipt in the signature-block form ``indivisible keys verify-item`` checks."""
    return {
        "receipt": receipt.id,
        "origin": receipt.origin,
        "collection": receipt.collection_id,
        "received_at": (as_utc(receipt.received_at) or receipt.received_at).isoformat(),
        "signed": receipt.signed,
        "key_id": receipt.key_id,
        "public_key": receipt.public_key,
        "algorithm": "ed25519-jcs" if receipt.signed else None,
        "signed_at": _iso(receipt.signed_at),
        "signature": receipt.signature,
        "document": receipt.document,
    }


def _iso(moment: datetime | None) -> str | None:
    found = as_utc(moment)
    return found.isoformat() if found is not None else None


def receipts(session: Session, actor: Actor, origin: str | None = None) -> list[PushReceipt]:
    """Every push received (or one node's), oldest first: for the operator at the console,
    since an envelope may hold objects that no single reader may see all of."""
    ensure_role(actor, Role.admin)
    stmt = select(PushReceipt).order_by(PushReceipt.id)
    if origin is not None:
        stmt = stmt.where(PushReceipt.origin == origin)
    return list(session.scalars(stmt))


def check(block: dict[str, Any]) -> tuple[bool, str]:
    """Whether a receipt (as ``read`` gives it) verifies offline: a push document, signed by
    the key it names."""
    document = block.get("document")
    if block.get("signed") and (not isinstance(document, dict) or document.get("type") != TYPE):
        return False, "not_a_push"
    return submissions.check_offline(block)
