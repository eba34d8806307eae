"""The audit log that no one rewrites unnoticed: change records are sealed, in order, into a
hash chain and a Merkle tree (RFC 9162), and the node signs tree heads at intervals.

Writers never hash: a change record is inserted in the transaction of its change, and the
sealer (a background loop in the node, ``indivisible audit seal`` at the console) gives the
committed records their positions afterwards, one sealer at a time. Hashing at write time
would make every writing transaction wait for the previous one to commit.

An entry's leaf is the RFC 8785 canonical JSON of::

    {"seq", "at", "principal_id", "actor", "action", "subject_type", "subject_key",
     "before_sha256", "after_sha256", "prev"}

where the digests are SHA-256 over the before/after JSON with sorted keys and no spaces, and
``prev`` is the leaf hash of the entry before (64 zeros for the first). The entry's hash is
``SHA-256(0x00 || leaf)``, RFC 9162's leaf hash, so the chain and the tree share one hash.

Verification recomputes everything from the rows and trusts nothing stored but the content:
not the sealer's bookmark, not the hashes, not the node's own tree heads (a rewriter holding
the node key could re-sign those; a member's copy of an earlier head catches that).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from indivisible.audit import merkle
from indivisible.audit.models import AuditLogState, AuditTreeHead, ChangeRecord
from indivisible.auth import signing
from indivisible.db import as_utc
from indivisible.i18n import _

LOG_ID = "indivisible-audit-v1"
GENESIS = "0" * 64
_SEAL_BATCH = 2000


def json_digest(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def entry_document(row: ChangeRecord, seq: int, prev: str) -> dict[str, Any]:
    moment = as_utc(row.at) or row.at
    return {
        "seq": seq,
        "at": moment.astimezone(UTC).isoformat(),
        "principal_id": row.principal_id,
        "actor": row.actor,
        "action": row.action,
        "subject_type": row.subject_type,
        "subject_key": row.subject_key,
        "before_sha256": json_digest(row.before),
        "after_sha256": json_digest(row.after),
        "prev": prev,
    }


def entry_hash(row: ChangeRecord, seq: int, prev: str) -> bytes:
    return merkle.leaf_hash(signing.canonical(entry_document(row, seq, prev)))


# --- the node's key -------------------------------------------------------------------------


def load_or_create_node_key(path: Path) -> Ed25519PrivateKey:
    """The key the node signs tree heads with, created on first use, readable by its owner
    alone. It signs the log's history: losing it loses nothing, but a new key must be
    announced to members (docs/operator.md)."""
    if path.exists():
        return signing.load_private(path.read_bytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    pem, _public = signing.generate()
    # Written whole under a private name, then linked into place: a crash mid-write, or a
    # worker reading while another writes, never meets an empty or partial key file, and
    # link() fails when another worker's key got there first.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:  # another worker created it first
            return signing.load_private(path.read_bytes())
    finally:
        draft.unlink(missing_ok=True)
    return signing.load_private(pem)


# --- tree heads -----------------------------------------------------------------------------


def head_document(tree_size: int, root_hash: str, issued_at: datetime) -> dict[str, Any]:
    """What a tree head's signature covers."""
    return {
        "log": LOG_ID,
        "tree_size": tree_size,
        "root_hash": root_hash,
        # Written out exactly, since the signature covers the text: RFC 3339 in UTC.
        "timestamp": issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def head_json(head: AuditTreeHead) -> dict[str, Any]:
    """A signed tree head as served and as members keep it."""
    issued = as_utc(head.issued_at) or head.issued_at
    return {
        **head_document(head.tree_size, head.root_hash, issued),
        "key_id": head.key_id,
        "public_key": head.public_key,
        "algorithm": "ed25519-jcs",
        "signature": head.signature,
    }


def head_signature_valid(head: dict[str, Any]) -> bool:
    """Whether a kept tree head carries a good signature by the key it names."""
    try:
        raw = signing.public_bytes(str(head["public_key"]))
        if signing.key_id(raw) != head["key_id"]:
            return False
        document = {k: head[k] for k in ("log", "tree_size", "root_hash", "timestamp")}
    except (KeyError, signing.BadKey):
        return False
    return signing.verify(raw, document, str(head["signature"]))


def latest_head(session: Session) -> AuditTreeHead | None:
    return session.scalars(
        select(AuditTreeHead).order_by(AuditTreeHead.tree_size.desc(), AuditTreeHead.id.desc())
    ).first()


# --- sealing --------------------------------------------------------------------------------


@dataclass
class SealResult:
    sealed: int
    tree_size: int
    head: AuditTreeHead | None


def has_work(
    session: Session, head_interval: timedelta | None, now: datetime | None = None
) -> bool:
    """Whether a seal would change anything, answered with reads only: an idle node must not
    write every second, since on SQLite each write commit makes a concurrent transaction that
    read before it and writes after it fail (SQLITE_BUSY_SNAPSHOT)."""
    if session.scalar(select(ChangeRecord.id).where(ChangeRecord.seq.is_(None)).limit(1)):
        return True
    state = session.get(AuditLogState, 1)
    last = latest_head(session)
    if (
        state is None
        or state.tree_size == 0
        or (last is not None and last.tree_size >= state.tree_size)
    ):
        return False
    return _head_due(last, head_interval, as_utc(now) or datetime.now(UTC))


def _head_due(last: AuditTreeHead | None, interval: timedelta | None, moment: datetime) -> bool:
    """Whether a new tree head may be signed: none yet, no interval, or the last one is old."""
    return (
        last is None or interval is None or (as_utc(last.issued_at) or moment) + interval <= moment
    )


def _locked_state(session: Session) -> AuditLogState:
    # An UPDATE first: on PostgreSQL it locks the row, on SQLite it takes the write lock
    # before anything is read, so that two sealers never both read the same bookmark.
    locked = session.execute(
        update(AuditLogState).where(AuditLogState.id == 1).values(id=AuditLogState.id)
    )
    existing = (
        session.get(AuditLogState, 1, populate_existing=True)
        if getattr(locked, "rowcount", 0)
        else None
    )
    if existing is not None:
        return existing
    # The first seal: two workers may both find no bookmark, so the row is made with
    # ON CONFLICT DO NOTHING and then locked like any other time.
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    session.execute(
        insert(AuditLogState)
        .values(id=1, tree_size=0, last_hash=GENESIS, frontier=[])
        .on_conflict_do_nothing(index_elements=["id"])
    )
    session.execute(update(AuditLogState).where(AuditLogState.id == 1).values(id=AuditLogState.id))
    state = session.get(AuditLogState, 1, populate_existing=True)
    assert state is not None  # made above, or by the worker that won
    return state


def seal(
    session: Session,
    *,
    key: Ed25519PrivateKey | None = None,
    head_interval: timedelta | None = None,
    now: datetime | None = None,
) -> SealResult:
    """Give every committed, unsealed change record its place in the log, then sign a tree
    head if ``key`` is given, the log has grown since the last head, and the last head is at
    least ``head_interval`` old (always, when ``head_interval`` is None)."""
    state = _locked_state(session)
    frontier = merkle.Frontier(state.tree_size, [bytes.fromhex(h) for h in state.frontier])
    prev = state.last_hash
    sealed = 0
    while True:
        rows = list(
            session.scalars(
                select(ChangeRecord)
                .where(ChangeRecord.seq.is_(None))
                .order_by(ChangeRecord.id)
                .limit(_SEAL_BATCH)
            )
        )
        if not rows:
            break
        for row in rows:
            digest = entry_hash(row, frontier.size, prev)
            row.seq = frontier.size
            row.prev_hash = prev
            row.entry_hash = prev = digest.hex()
            frontier.append(digest)
            sealed += 1
        session.flush()
    state.tree_size = frontier.size
    state.last_hash = prev
    state.frontier = [h.hex() for h in frontier.hashes]
    head = None
    if key is not None and frontier.size > 0:
        moment = as_utc(now) or datetime.now(UTC)
        last = latest_head(session)
        grown = last is None or last.tree_size < frontier.size
        due = _head_due(last, head_interval, moment)
        if grown and due:
            head = _sign_head(session, key, frontier.size, frontier.root().hex(), moment)
    session.flush()
    return SealResult(sealed=sealed, tree_size=frontier.size, head=head)


def _sign_head(
    session: Session, key: Ed25519PrivateKey, size: int, root_hash: str, moment: datetime
) -> AuditTreeHead:
    signature = signing.sign(key, head_document(size, root_hash, moment))
    head = AuditTreeHead(
        tree_size=size,
        root_hash=root_hash,
        issued_at=moment,
        key_id=signature["key_id"],
        public_key=signing.public_b64(key),
        signature=signature["signature"],
    )
    session.add(head)
    return head


# --- proofs ---------------------------------------------------------------------------------


def _leaves(session: Session, tree_size: int) -> list[bytes]:
    hashes = session.scalars(
        select(ChangeRecord.entry_hash)
        .where(ChangeRecord.seq.is_not(None), ChangeRecord.seq < tree_size)
        .order_by(ChangeRecord.seq)
    )
    return [bytes.fromhex(h or "") for h in hashes]


def sealed_size(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(ChangeRecord.seq.is_not(None))) or 0)


def inclusion(session: Session, seq: int, tree_size: int) -> list[str]:
    leaves = _leaves(session, tree_size)
    return [h.hex() for h in merkle.inclusion_proof(leaves, seq)]


def consistency(session: Session, first: int, second: int) -> list[str]:
    leaves = _leaves(session, second)
    return [h.hex() for h in merkle.consistency_proof(leaves, first)]


# --- verification ---------------------------------------------------------------------------


@dataclass
class Problem:
    """Something wrong with the log: at entry ``seq`` (record ``record_id`` when there is
    one), or with a tree head when ``seq`` is None. ``message`` is translatable, with
    ``params``."""

    seq: int | None
    record_id: int | None
    message: str
    params: dict[str, Any] = field(default_factory=dict)
    last_seq: int | None = None  # a run of missing entries ends here


@dataclass
class Verification:
    entries: int = 0  # sealed entries present
    unsealed: int = 0
    heads_checked: int = 0
    root_hash: str = merkle.EMPTY_ROOT.hex()
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> int | None:
        """The position of the first bad entry, if any entry is bad."""
        return next((p.seq for p in self.problems if p.seq is not None), None)

    def bad_positions(self, below: int) -> set[int]:
        """Every log position under ``below`` that a problem names, missing runs expanded."""
        positions: set[int] = set()
        for problem in self.problems:
            if problem.seq is not None:
                end = problem.last_seq if problem.last_seq is not None else problem.seq
                positions.update(range(problem.seq, min(end + 1, below)))
        return positions


def verify(
    session: Session, kept_heads: Iterable[dict[str, Any]] = (), *, batch: int = 5000
) -> Verification:
    """Check the whole log: each entry against its own hash, each link of the chain, the
    positions without gaps, and every tree head (the node's, and ``kept_heads`` that members
    saved) against the tree recomputed from the entries' content. Problems come in log
    order, so the first is the first bad entry."""
    result = Verification()
    node_heads = [head_json(h) for h in session.scalars(select(AuditTreeHead))]
    heads: list[tuple[str, dict[str, Any]]] = [("node", h) for h in node_heads]
    heads += [("kept", h) for h in kept_heads]
    wanted: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for origin, head in heads:
        result.heads_checked += 1
        if not head_signature_valid(head):
            result.problems.append(
                Problem(None, None, _("A tree head ({origin}, size {size}) has a bad signature."),
                        {"origin": origin, "size": head.get("tree_size")})
            )  # fmt: skip
            continue
        wanted.setdefault(int(head["tree_size"]), []).append((origin, head))

    frontier = merkle.Frontier()
    roots: dict[int, str] = {0: merkle.EMPTY_ROOT.hex()}
    previous_stored = GENESIS
    expected = 0  # the next position the log should hold
    gap_at: int | None = None  # no tree beyond the first missing entry matches any head
    stmt = (
        select(ChangeRecord)
        .where(ChangeRecord.seq.is_not(None))
        .order_by(ChangeRecord.seq)
        .execution_options(yield_per=batch)
    )
    for row in session.scalars(stmt):
        seq = int(row.seq or 0)
        if seq != expected:
            result.problems.append(
                Problem(expected, None, _("Entries {first} to {last} are missing."),
                        {"first": expected, "last": seq - 1}, last_seq=seq - 1)
            )  # fmt: skip
            gap_at = expected if gap_at is None else gap_at
            previous_stored = row.prev_hash or ""
        recomputed = entry_hash(row, seq, row.prev_hash or "")
        if recomputed.hex() != row.entry_hash:
            result.problems.append(
                Problem(seq, row.id, _("Entry {seq} (record {id}) does not match its hash: it was changed after sealing."),
                        {"seq": seq, "id": row.id})
            )  # fmt: skip
        elif row.prev_hash != previous_stored:
            result.problems.append(
                Problem(seq, row.id, _("Entry {seq} (record {id}) is not linked to the entry before it: one of the two was changed."),
                        {"seq": seq, "id": row.id})
            )  # fmt: skip
        previous_stored = row.entry_hash or ""
        if gap_at is None:
            frontier.append(recomputed)
            if frontier.size in wanted:
                roots[frontier.size] = frontier.root().hex()
        result.entries += 1
        expected = seq + 1
    result.root_hash = frontier.root().hex()
    result.unsealed = int(
        session.scalar(select(func.count()).where(ChangeRecord.seq.is_(None))) or 0
    )
    state = session.get(AuditLogState, 1)
    if state is not None and state.tree_size > expected:
        result.problems.append(
            Problem(expected, None, _("The log ends at {size} entries, but {sealed} were sealed."),
                    {"size": expected, "sealed": state.tree_size},
                    last_seq=state.tree_size - 1)
        )  # fmt: skip
    for size, origins in sorted(wanted.items()):
        for origin, head in origins:
            if size > expected:
                result.problems.append(
                    Problem(None, None, _("A tree head ({origin}) covers {size} entries, but the log has {entries}."),
                            {"origin": origin, "size": size, "entries": expected})
                )  # fmt: skip
            elif (gap_at is not None and size > gap_at) or roots.get(size) != head["root_hash"]:
                result.problems.append(
                    Problem(None, None, _("The log no longer matches a tree head ({origin}, size {size}, signed {at}): it was rewritten."),
                            {"origin": origin, "size": size, "at": head["timestamp"]})
                )  # fmt: skip
    return result


def kept_heads_from(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Tree heads saved by members: one JSON object per file, or a list of them."""
    heads: list[dict[str, Any]] = []
    for path in paths:
        value = json.loads(path.read_text(encoding="utf-8"))
        heads.extend(value if isinstance(value, list) else [value])
    return heads
