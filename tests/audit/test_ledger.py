"""The audit log on SQLite and PostgreSQL: sealing, proofs, and tampering straight in the
database, which verification must catch and name."""

from __future__ import annotations

import os
import random
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from indivisible.audit import ledger, merkle
from indivisible.audit.models import AuditLogState, AuditTreeHead, ChangeRecord
from indivisible.audit.service import record_change
from indivisible.auth.principal import Actor

NODE_KEY = Ed25519PrivateKey.generate()
TABLE = cast(Table, ChangeRecord.__table__)


def grow(session: Session, count: int, seed: int) -> None:
    """``count`` change records of varied shape, as services write them."""
    rng = random.Random(seed)
    actor = Actor.console("audit-test")
    for i in range(count):
        before = None if rng.random() < 0.3 else {"value": rng.randint(0, 10**6), "name": f"n{i}"}
        after = None if rng.random() < 0.2 else {"value": rng.random(), "tags": ["a", "б", "中"]}
        record_change(
            session, actor, action=rng.choice(["create", "update", "delete"]),
            subject_type=rng.choice(["membership", "notification", "stix_object"]),
            subject_key=f"key-{seed}-{i}", before=before, after=after,
        )  # fmt: skip
    session.flush()


def sealed(session: Session) -> int:
    ledger.seal(session, key=NODE_KEY)
    session.flush()
    return int(session.scalar(select(func.count()).where(ChangeRecord.seq.is_not(None))) or 0)


def fresh_verify(session: Session, kept: list[dict[str, Any]] | None = None) -> ledger.Verification:
    session.expire_all()  # the tampering went round the ORM
    return ledger.verify(session, kept or [])


def test_a_sealed_log_verifies_and_proves_inclusion_and_consistency(db: Session) -> None:
    grow(db, 300, seed=1)
    size = sealed(db)
    first_head = ledger.head_json(ledger.latest_head(db))  # type: ignore[arg-type]
    assert first_head["tree_size"] == size
    assert ledger.head_signature_valid(first_head)

    result = fresh_verify(db, [first_head])
    assert result.ok, result.problems
    assert (result.entries, result.unsealed) == (size, 0)
    assert result.root_hash == first_head["root_hash"]

    # Inclusion: an entry's hash and the path lead to the signed root.
    row = db.scalars(select(ChangeRecord).where(ChangeRecord.seq == size // 2)).one()
    path = [bytes.fromhex(h) for h in ledger.inclusion(db, size // 2, size)]
    root = bytes.fromhex(first_head["root_hash"])
    assert merkle.verify_inclusion(bytes.fromhex(row.entry_hash or ""), size // 2, size, path, root)

    # The log grows; the old head is proven a prefix of the new one.
    grow(db, 57, seed=2)
    assert ledger.seal(db, key=NODE_KEY, head_interval=timedelta(0)).sealed == 57
    second_head = ledger.head_json(ledger.latest_head(db))  # type: ignore[arg-type]
    proof = [bytes.fromhex(h) for h in ledger.consistency(db, size, size + 57)]
    assert merkle.verify_consistency(
        size, size + 57, root, bytes.fromhex(second_head["root_hash"]), proof
    )
    assert fresh_verify(db, [first_head, second_head]).ok
    # Nothing new: nothing sealed, no new head.
    assert ledger.seal(db, key=NODE_KEY).sealed == 0
    assert db.scalar(select(func.count()).select_from(AuditTreeHead)) == 2


def test_a_head_is_signed_only_when_due(db: Session) -> None:
    minute = timedelta(minutes=1)
    grow(db, 3, seed=3)
    assert ledger.has_work(db, minute)
    ledger.seal(db, key=NODE_KEY, head_interval=minute)
    # An idle node does not write: nothing to seal, and the head covers the whole log.
    assert not ledger.has_work(db, minute)
    grow(db, 3, seed=4)
    assert ledger.seal(db, key=NODE_KEY, head_interval=minute).head is None
    # Sealed, but the head is not due yet: still nothing to write.
    assert not ledger.has_work(db, minute)
    late = ledger.latest_head(db).issued_at + timedelta(minutes=2)  # type: ignore[union-attr]
    assert ledger.has_work(db, minute, now=late)
    assert ledger.seal(db, key=NODE_KEY, head_interval=timedelta(minutes=1), now=late).head


def _flip(text: str) -> str:
    return ("1" if text[0] != "1" else "2") + text[1:]


# Each way to tamper with one row: (name, change given the row's id and current values).
Tamper = Callable[[Session, int, Any], None]


def _set(column: str, value: Callable[[Any], Any]) -> Tamper:
    def tamper(session: Session, record_id: int, row: Any) -> None:
        new = value(getattr(row, column))
        session.execute(update(TABLE).where(TABLE.c.id == record_id).values({column: new}))

    return tamper


def _delete(session: Session, record_id: int, row: Any) -> None:
    session.execute(delete(TABLE).where(TABLE.c.id == record_id))


TAMPERINGS: dict[str, Tamper] = {
    "actor": _set("actor", lambda v: v + "!"),
    "action": _set("action", lambda v: "forged" if v != "forged" else "other"),
    "subject_type": _set("subject_type", lambda v: v + "x"),
    "subject_key": _set("subject_key", lambda v: v + "'"),
    "at": _set("at", lambda v: v + timedelta(seconds=1)),
    "before": _set("before", lambda v: {"forged": True} if v != {"forged": True} else None),
    "after": _set("after", lambda v: None if v is not None else {"forged": 1}),
    "entry_hash": _set("entry_hash", _flip),
    "prev_hash": _set("prev_hash", _flip),
    "seq moved": _set("seq", lambda v: v + 10_000_000),
    "seq cleared": _set("seq", lambda v: None),
    "deleted": _delete,
}


def _rows_by_position(session: Session) -> dict[int, Any]:
    rows = session.execute(select(TABLE).where(TABLE.c.seq.is_not(None)))
    return {row.seq: row for row in rows}


def test_a_thousand_tamperings_are_all_detected(db: Session) -> None:
    grow(db, 2500, seed=5)
    size = sealed(db)
    assert size >= 2500
    kept = ledger.head_json(ledger.latest_head(db))  # type: ignore[arg-type]
    rng = random.Random(6)
    rows = _rows_by_position(db)
    positions = rng.sample(sorted(rows), 1000)
    kinds: dict[str, int] = {}
    for position in positions:
        kind = rng.choice(sorted(TAMPERINGS))
        kinds[kind] = kinds.get(kind, 0) + 1
        TAMPERINGS[kind](db, rows[position].id, rows[position])
    assert len(kinds) == len(TAMPERINGS)  # every kind was tried

    result = fresh_verify(db, [kept])
    detected = result.bad_positions(below=size)
    missed = set(positions) - detected
    assert not missed, f"{len(missed)} tamperings went unnoticed: {sorted(missed)[:10]}"
    assert result.first_bad == min(positions)
    # The member's kept head no longer matches either.
    assert any(p.seq is None and p.params.get("origin") == "kept" for p in result.problems)


@pytest.mark.parametrize("kind", sorted(TAMPERINGS))
def test_each_tampering_names_the_entry(db: Session, kind: str) -> None:
    grow(db, 40, seed=7)
    size = sealed(db)
    assert fresh_verify(db).ok
    position = random.Random(kind).randrange(size - 40, size - 1)
    row = _rows_by_position(db)[position]
    TAMPERINGS[kind](db, row.id, row)
    result = fresh_verify(db)
    assert not result.ok
    assert result.first_bad == position


def test_a_rewritten_history_is_caught_only_by_a_kept_head(db: Session) -> None:
    """An operator with the node's key rewrites an entry, recomputes every later hash, and
    replaces the node's own tree heads: the node's view is consistent again, but a member's
    earlier head is not."""
    grow(db, 120, seed=8)
    size = sealed(db)
    kept = ledger.head_json(ledger.latest_head(db))  # type: ignore[arg-type]

    target = size - 100
    db.execute(update(TABLE).where(TABLE.c.seq == target).values(actor="someone else"))
    db.execute(delete(AuditTreeHead))
    db.execute(delete(AuditLogState))
    db.execute(update(TABLE).where(TABLE.c.seq >= target).values(seq=None))
    db.expire_all()
    # The sealer's bookmark rebuilt to just before the rewritten entry; resealing then
    # recomputes the chain from there on.
    state = AuditLogState(id=1, tree_size=0, last_hash=ledger.GENESIS, frontier=[])
    frontier = merkle.Frontier()
    previous = ledger.GENESIS
    for record in db.scalars(
        select(ChangeRecord).where(ChangeRecord.seq < target).order_by(ChangeRecord.seq)
    ):
        previous = record.entry_hash or ""
        frontier.append(bytes.fromhex(previous))
    state.tree_size, state.last_hash = frontier.size, previous
    state.frontier = [h.hex() for h in frontier.hashes]
    db.add(state)
    db.flush()
    ledger.seal(db, key=NODE_KEY)

    assert fresh_verify(db).ok  # the rewrite is invisible from the node alone
    caught = fresh_verify(db, [kept])
    assert not caught.ok
    assert [p.params["origin"] for p in caught.problems] == ["kept"]


def test_a_truncated_log_is_caught(db: Session) -> None:
    grow(db, 30, seed=9)
    size = sealed(db)
    kept = ledger.head_json(ledger.latest_head(db))  # type: ignore[arg-type]
    db.execute(delete(TABLE).where(TABLE.c.seq >= size - 5))
    result = fresh_verify(db, [kept])
    assert result.first_bad == size - 5
    assert any(p.params.get("origin") == "kept" for p in result.problems)


def test_a_forged_head_is_refused(db: Session) -> None:
    grow(db, 5, seed=10)
    sealed(db)
    head = ledger.head_json(ledger.latest_head(db))  # type: ignore[arg-type]
    forged = {**head, "tree_size": head["tree_size"] - 1}
    assert not ledger.head_signature_valid(forged)
    assert not fresh_verify(db, [forged]).ok


def test_the_node_key_is_written_whole_and_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "node-key.pem"
    made = ledger.load_or_create_node_key(path)
    # The same key next time (a restart), and no draft left beside it.
    again = ledger.load_or_create_node_key(path)
    assert _raw(again) == _raw(made)
    assert sorted(p.name for p in path.parent.iterdir()) == ["node-key.pem"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_key_another_worker_wrote_first_wins(tmp_path: Path, monkeypatch: Any) -> None:
    path = tmp_path / "node-key.pem"
    theirs = ledger.load_or_create_node_key(tmp_path / "theirs.pem")
    real_link = os.link

    # The other worker's key lands between our check for the file and our link into place.
    def link_after_them(source: Any, target: Any) -> None:
        (tmp_path / "theirs.pem").rename(path)
        real_link(source, target)

    monkeypatch.setattr(os, "link", link_after_them)
    assert _raw(ledger.load_or_create_node_key(path)) == _raw(theirs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node-key.pem"]


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
