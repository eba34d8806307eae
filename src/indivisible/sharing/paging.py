"""Stateless TAXII ``next`` tokens: the position of the last row served, signed by the node.

Any worker holding the node's key can serve the next page; nothing is kept between requests.
A token names the endpoint and collection it was issued for and a digest of the filters, so a
token from another collection or another query, or an edited one, is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from indivisible.errors import BadRequest
from indivisible.i18n import _
from indivisible.sharing.models import NodeKey

KEY_NAME = "taxii-paging"


# The key as read from each database: it never changes once stored, and reading it cost about
# half a millisecond of every TAXII page. Only a key read back is kept, never one this process
# has just created, whose transaction might still roll back.
_known: dict[str, bytes] = {}


def node_key(session: Session) -> bytes:
    """The node's paging key, created on first use; a race between workers keeps one key."""
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    known = _known.get(database)
    if known is not None:
        return known
    row = session.get(NodeKey, KEY_NAME)
    if row is not None:
        _known[database] = bytes.fromhex(row.secret)
    else:
        try:
            with session.begin_nested():
                row = NodeKey(
                    name=KEY_NAME, secret=secrets.token_hex(32), created_at=datetime.now(UTC)
                )
                session.add(row)
        except IntegrityError:
            row = session.get(NodeKey, KEY_NAME)
            assert row is not None
    return bytes.fromhex(row.secret)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def issue(key: bytes, scope: str, filters: str, position: tuple[datetime, int]) -> str:
    moment, row_id = position
    payload = json.dumps(
        {"s": scope, "f": filters, "d": moment.isoformat(), "i": row_id}, separators=(",", ":")
    ).encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def _refuse() -> BadRequest:
    return BadRequest(
        _("The next token is not valid for this collection and these filters."),
        code="bad_next",
        field="next",
    )


def read(key: bytes, token: str, scope: str, filters: str) -> tuple[datetime, int]:
    """The position a token carries, if this node signed it for this scope and these filters."""
    try:
        encoded, signature = token.split(".")
        payload = _unb64(encoded)
        valid = hmac.compare_digest(_unb64(signature), _mac(key, payload))
    except (ValueError, UnicodeEncodeError):
        raise _refuse() from None
    if not valid:
        raise _refuse()
    data = json.loads(payload)
    if data.get("s") != scope or data.get("f") != filters:
        raise _refuse()
    moment = datetime.fromisoformat(data["d"])
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC), int(data["i"]))
