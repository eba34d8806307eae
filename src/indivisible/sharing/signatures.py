"""STIX objects signed by the state that wrote them.

A federation push is signed by the node that forwards it (``pushes``); that binds the node,
not the states whose analysts wrote the objects. So a state may also sign each object it
shares, on its analyst's machine, with one of its registered keys. The signature travels in
the object itself, as a STIX 2.1 property extension, so that it survives every hop: TAXII
reads, exports, federation pushes and pulls all carry the object as it was stored::

    "extensions": {
      "extension-definition--60902fe5-6d78-49bf-a64e-1305574baa5a": {
        "extension_type": "property-extension",
        "state": "KAZ", "key_id": "<hex>", "signed_at": "<RFC 3339 UTC>",
        "signature": "<base64>"
      }
    }

The signature covers the RFC 8785 canonical form of::

    {"type": "indivisible.stix.object", "state": "KAZ", "signed_at": "<as in the extension>",
     "content": <the object without this extension (and without "extensions" if it was the only one)>}

A STIX version (id and modified) never changes, so a signed version cannot be altered by any
node it passes through without the signature failing. No maximum age applies, unlike
submissions: sharing an old signed version again is legitimate, and storing a version twice
is answered "already stored". Every node that stores a signed object checks it against the
keys it holds for that state, and refuses it if the check fails, unknown key included: a node
that cannot check a state's signature must not pass it on as that state's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from indivisible.auth import keys, signing, submissions
from indivisible.auth.schemas import DetachedSignature, SignatureCheck
from indivisible.errors import InvalidInput
from indivisible.i18n import _

EXTENSION = "extension-definition--60902fe5-6d78-49bf-a64e-1305574baa5a"
TYPE = "indivisible.stix.object"
# Who defines the extension: the Indivisible project, as a STIX identity.
AUTHOR = "identity--4572e996-7bb7-430a-993a-e1cff49f9516"
CLOCK_SKEW = timedelta(minutes=5)
_FIELDS = ("state", "key_id", "signed_at", "signature")

REASONS = {
    "malformed": _("The state signature extension needs state, key_id, signed_at and signature, each a string, and nothing else."),
    "signed_in_future": _("Signed in the future: check the signing machine's clock."),
    "not_canonical": _("The object cannot be put in canonical form (RFC 8785), so no signature can cover it."),
    "unknown_key": _("No key {key} of {state} is registered on this node."),
    # The key's own verdicts read as they do for submissions.
    **{r: submissions.REASONS[r] for r in ("other_state", "not_yet_valid", "retired", "revoked")},
    "bad_signature": _("The signature does not match the object: it was changed after {state} signed it, or signed with another key."),
    "required": _("This node accepts only objects signed by their state (the {extension} extension)."),
}  # fmt: skip


@dataclass(frozen=True)
class Claim:
    """A signature an object carries: who says they signed it, with what, and when."""

    state: str
    key_id: str
    signed_at: str
    signature: str


def unsigned(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as it was before it was signed: without this extension."""
    extensions = obj.get("extensions")
    if not isinstance(extensions, dict) or EXTENSION not in extensions:
        return obj
    rest = {k: v for k, v in extensions.items() if k != EXTENSION}
    content = {k: v for k, v in obj.items() if k != "extensions"}
    if rest:
        content["extensions"] = rest
    return content


def document(state: str, signed_at: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": TYPE, "state": state, "signed_at": signed_at, "content": unsigned(obj)}


def sign(
    private: Ed25519PrivateKey,
    state: str,
    obj: dict[str, Any],
    *,
    signed_at: datetime | None = None,
) -> dict[str, Any]:
    """The object with its state's signature: run on the analyst's machine (``Client``,
    ``indivisible sharing sign``). Signing again replaces an earlier signature."""
    moment = (signed_at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    made = signing.sign(private, document(state, moment, obj))
    content = unsigned(obj)
    return {
        **content,
        "extensions": {
            **(content.get("extensions") or {}),
            EXTENSION: {
                "extension_type": "property-extension",
                "state": state,
                "key_id": made["key_id"],
                "signed_at": moment,
                "signature": made["signature"],
            },
        },
    }


def claim(obj: dict[str, Any]) -> Claim | str | None:
    """The signature the object carries, None when it carries none, or "malformed"."""
    extensions = obj.get("extensions")
    if not isinstance(extensions, dict) or EXTENSION not in extensions:
        return None
    block = extensions[EXTENSION]
    # Exactly these members: the signature does not cover its own block, so anything added to
    # it would travel with the object looking signed.
    if (
        not isinstance(block, dict)
        or block.keys() != {"extension_type", *_FIELDS}
        or block["extension_type"] != "property-extension"
        or not all(isinstance(block[f], str) for f in _FIELDS)
    ):
        return "malformed"
    return Claim(*(str(block[f]) for f in _FIELDS))


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def check(
    session: Session, obj: dict[str, Any], now: datetime, *, required: bool = False
) -> tuple[Claim | None, Refusal | None]:
    """The state signature of an object a node is about to store, checked against the keys
    registered here: (the claim, None) when it verifies, (None, None) when the object is
    unsigned and may be, (None, why) when it must be refused."""
    found = claim(obj)
    if found is None:
        return None, (_refusal("required", None) if required else None)
    if isinstance(found, str):
        return None, _refusal(found, None)
    signed_at = _moment(found.signed_at)
    if signed_at is None:
        return None, _refusal("malformed", found)
    if signed_at > now + CLOCK_SKEW:
        return None, _refusal("signed_in_future", found)
    try:
        signature = DetachedSignature(key_id=found.key_id, signature=found.signature)
        verdict = keys.check(
            session,
            SignatureCheck(
                state=found.state,
                document=document(found.state, found.signed_at, obj),
                signature=signature,
                signed_at=signed_at,
            ),
        )
    except ValueError:  # a key id, state or signature of the wrong shape (pydantic)
        return None, _refusal("malformed", found)
    except InvalidInput:
        return None, _refusal("not_canonical", found)
    if not verdict.valid:
        return None, _refusal(verdict.reason, found)
    return found, None


@dataclass(frozen=True)
class Refusal:
    """Why an object's signature is refused: a key of ``REASONS`` and what fills it in."""

    reason: str
    key: str = ""
    state: str = ""

    def text(self, gettext: Callable[[str], str] = lambda message: message) -> str:
        """The reason in words: in English for a TAXII status, translated for a page."""
        return gettext(REASONS[self.reason]).format(
            key=self.key, state=self.state, extension=EXTENSION
        )


def _refusal(reason: str, found: Claim | None) -> Refusal:
    return Refusal(reason, found.key_id[:40] if found else "", found.state[:10] if found else "")


def block(obj: dict[str, Any], public_key: str | None = None) -> dict[str, Any]:
    """The object's signature in the signature-block form ``indivisible keys verify-item``
    checks (``submissions.check_offline``), with the state's public key where it is known."""
    found = claim(obj)
    if not isinstance(found, Claim):
        return {"signed": False, "stix_id": obj.get("id")}
    return {
        "signed": True,
        "stix_id": obj.get("id"),
        "state": found.state,
        "key_id": found.key_id,
        "public_key": public_key,
        "algorithm": "ed25519-jcs",
        "signed_at": found.signed_at,
        "signature": found.signature,
        "document": document(found.state, found.signed_at, obj),
    }


def definition() -> dict[str, Any]:
    """The STIX extension-definition object that describes the extension, for consumers that
    look extensions up (served at ``GET /api/v1/sharing/signature-extension``)."""
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION,
        "created_by_ref": AUTHOR,
        "created": "2026-12-06T00:00:00.000Z",
        "modified": "2026-12-06T00:00:00.000Z",
        "name": "Indivisible state signature",
        "description": (
            "An Ed25519 signature by the state that wrote this object, with one of the keys "
            "it registered on an Indivisible node."
        ),
        "schema": (
            "Properties: state (ISO 3166-1 alpha-3 code), key_id (first 32 hex digits of the "
            "SHA-256 of the raw public key), signed_at (RFC 3339, UTC), signature (base64 "
            "Ed25519). The signature covers the RFC 8785 canonical form of "
            '{"type": "indivisible.stix.object", "state": <state>, "signed_at": <signed_at>, '
            '"content": <the object without this extension, and without "extensions" if it '
            "was the only one>}."
        ),
        "version": "1.0.0",
        "extension_types": ["property-extension"],
    }
