"""Signed submissions: what binds a state (a notification, annual data, a request for
assistance, a position on a decision) carries its signature, made on the user's machine
with a key the node never sees. The node checks it against the key the state had registered
when it signed, keeps it with the document it covers, and shows it with the submission.

The signed document is::

    {"type": "indivisible.<kind>", "state": "KAZ", "signed_at": "<as sent>",
     "content": <the request body as sent, without its "signature" member>}

so that a signature cannot be replayed as another kind of submission, for another state or
at another time. The body is taken as sent, not as parsed: parsing trims and normalises, and
the signer signed the bytes' meaning, not the node's reading of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from indivisible.auth import keys, signing
from indivisible.auth.models import StateKey, SubmissionSignature
from indivisible.auth.principal import Actor
from indivisible.auth.schemas import (
    DetachedSignature,
    SignatureCheck,
    SubmissionSignatureIn,
    SubmissionSignatureRead,
)
from indivisible.db import add_once, as_utc
from indivisible.errors import Conflict, InvalidInput
from indivisible.i18n import _

KINDS = ("cbm.notification", "cbm.annual_data", "crisis.request", "crisis.position")
# A signer's clock may run a little ahead of the node's.
CLOCK_SKEW = timedelta(minutes=5)

REASONS = {
    "unknown_key": _("No key {key} is registered."),
    "other_state": _("Key {key} is not one of {state}'s keys."),
    "adopted": _("Key {key} was adopted from another node: it checks what linked nodes forward, not submissions made here. Register a key on this node."),
    "not_yet_valid": _("Key {key} was not yet registered when this was signed."),
    "retired": _("Key {key} was retired before this was signed."),
    "revoked": _("Key {key} was revoked before this was signed."),
    "bad_signature": _("The signature does not match the submission: it was changed after signing, or signed with another key."),
}  # fmt: skip


@dataclass(frozen=True)
class Submission:
    """A request body as sent, and the node's rule on unsigned submissions."""

    body: dict[str, Any]
    allow_unsigned: bool
    max_age: timedelta = timedelta(hours=24)

    @property
    def content(self) -> dict[str, Any]:
        return {k: v for k, v in self.body.items() if k != "signature"}


def console(data: Any) -> Submission:
    """What the console and the demo submit: a parsed model, unsigned unless it carries a
    signature over its own JSON form."""
    body = data.model_dump(mode="json", exclude_unset=True)
    return Submission(body=body, allow_unsigned=True)


def signed_document(
    kind: str, state: str, signed_at: str, content: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": f"indivisible.{kind}",
        "state": state,
        "signed_at": signed_at,
        "content": content,
    }


def sign_body(
    private: Ed25519PrivateKey,
    kind: str,
    state: str,
    body: dict[str, Any],
    *,
    signed_at: datetime | None = None,
) -> dict[str, Any]:
    """The body with its ``signature`` member: what the CLI and the Python client send. Runs
    on the signer's machine; only the signature leaves it."""
    content = {k: v for k, v in body.items() if k != "signature"}
    moment = (signed_at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    made = signing.sign(private, signed_document(kind, state, moment, content))
    return {
        **content,
        "signature": {
            "key_id": made["key_id"],
            "algorithm": made["algorithm"],
            "signed_at": moment,
            "signature": made["signature"],
        },
    }


def attest(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    subject_key: str,
    state: str,
    signature: SubmissionSignatureIn | None,
    submission: Submission,
) -> SubmissionSignature:
    """Check the submission's signature (or the node's leave to submit unsigned) and record
    it; an invalid signature refuses the whole submission, naming the reason."""
    now = datetime.now(UTC)
    row = SubmissionSignature(
        kind=kind,
        subject_key=subject_key,
        state_code=state,
        principal_id=actor.principal_id,
        received_at=now,
        signed=signature is not None,
    )
    if signature is None:
        if not submission.allow_unsigned:
            raise InvalidInput(
                _("This node accepts only signed submissions: sign it with your state's key."),
                code="signature_required",
                field="signature",
            )
        session.add(row)
        session.flush()
        return row
    signed_at = signature.signed_at.astimezone(UTC)
    if signed_at > now + CLOCK_SKEW:
        raise InvalidInput(
            _("Signed in the future: check the signing machine's clock."),
            code="signed_in_future",
            field="signature.signed_at",
        )
    if signed_at < now - submission.max_age:
        raise InvalidInput(
            _("Signed more than {hours} hours ago: sign it again."),
            code="signature_too_old",
            field="signature.signed_at",
            params={"hours": int(submission.max_age.total_seconds() // 3600)},
        )
    sent = submission.body.get("signature")
    sent_at = sent.get("signed_at") if isinstance(sent, dict) else None
    document = signed_document(
        kind, state, sent_at if isinstance(sent_at, str) else signed_at.isoformat(),
        submission.content,
    )  # fmt: skip
    verdict = keys.check(
        session,
        SignatureCheck(
            state=state,
            document=document,
            signature=DetachedSignature(key_id=signature.key_id, signature=signature.signature),
            signed_at=signed_at,
        ),
        adopted=False,
    )
    if not verdict.valid:
        raise InvalidInput(
            REASONS[verdict.reason],
            code=f"signature_{verdict.reason}",
            field="signature",
            params={"key": signature.key_id, "state": state},
        )
    row.key_id = signature.key_id
    row.signed_at = signed_at
    row.signature = signature.signature
    row.document = document
    if not add_once(session, row):
        raise Conflict(
            _("This signed submission was received already."),
            code="signature_replayed",
            field="signature",
        )
    return row


def reads(
    session: Session, kind: str, subject_keys: list[str]
) -> dict[str, SubmissionSignatureRead]:
    """The signatures of several submissions of one kind, by subject key."""
    if not subject_keys:
        return {}
    # A position restated or data revised is signed again and the latest signature counts:
    # only that one is read, not the history (a decision's positions may be restated
    # thousands of times), and as plain columns, not ORM rows.
    latest = (
        select(func.max(SubmissionSignature.id))
        .where(SubmissionSignature.kind == kind, SubmissionSignature.subject_key.in_(subject_keys))
        .group_by(SubmissionSignature.subject_key)
    )
    rows = session.execute(
        select(*_READ_COLUMNS, StateKey.public_key)
        .outerjoin(StateKey, StateKey.id == SubmissionSignature.key_id)
        .where(SubmissionSignature.id.in_(latest))
    )
    return {row.subject_key: read(row) for row in rows}


_READ_COLUMNS = (
    SubmissionSignature.subject_key,
    SubmissionSignature.signed,
    SubmissionSignature.state_code,
    SubmissionSignature.received_at,
    SubmissionSignature.key_id,
    SubmissionSignature.signed_at,
    SubmissionSignature.signature,
    SubmissionSignature.document,
)


def read(row: Row[Any]) -> SubmissionSignatureRead:
    """A signature row of ``reads``, with its key's public half (None if unsigned)."""
    return SubmissionSignatureRead(
        signed=row.signed,
        state=row.state_code,
        received_at=as_utc(row.received_at) or row.received_at,
        key_id=row.key_id,
        public_key=row.public_key,
        algorithm="ed25519-jcs" if row.signed else None,
        signed_at=as_utc(row.signed_at),
        signature=row.signature,
        document=row.document,
    )


def one(session: Session, kind: str, subject_key: str) -> SubmissionSignatureRead | None:
    return reads(session, kind, [subject_key]).get(subject_key)


def check_offline(item: dict[str, Any], pinned_public_key: str | None = None) -> tuple[bool, str]:
    """Whether an exported item's signature block verifies, with no node: the key id must
    be the public key's, and the signature must cover the document. ``pinned_public_key``
    is the key the checker trusts (from the node's key list, or the state itself)."""
    block = item.get("signature") if "document" not in item else item
    if not isinstance(block, dict) or not block.get("signed"):
        return False, "unsigned"
    try:
        public = signing.public_bytes(str(pinned_public_key or block["public_key"]))
        document = block["document"]
        signature = str(block["signature"])
    except (KeyError, signing.BadKey):
        return False, "incomplete"
    if signing.key_id(public) != block.get("key_id"):
        return False, "other_key"
    if not isinstance(document, dict) or document.get("state") != block.get("state"):
        return False, "other_state"
    if not signing.verify(public, document, signature):
        return False, "bad_signature"
    return True, "ok"
