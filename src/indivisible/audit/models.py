"""The change log: one row per change, written in the same transaction as the change, then
sealed into a hash chain and a Merkle tree (audit/ledger.py) that no one rewrites unnoticed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from indivisible.db import Base


class ChangeRecord(Base):
    __tablename__ = "change_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    principal_id: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    # "cli:registry-load" and the like when no principal acted (an operator at the console).
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(20))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_key: Mapped[str] = mapped_column(String(120))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Set by the sealer, never by the writer: the entry's position in the log, the hash of the
    # entry before it and its own leaf hash (hex), which covers all of the above.
    seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_change_record_subject", "subject_type", "subject_key"),)


class AuditLogState(Base):
    """The sealer's bookmark, one row: how many entries are sealed, the last entry's hash and
    the frontier of the Merkle tree (hex hashes of its perfect subtrees, largest first), so
    that sealing never rereads the log. Verification never trusts it."""

    __tablename__ = "audit_log_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    frontier: Mapped[list[str]] = mapped_column(JSON)


class AuditTreeHead(Base):
    """A signed tree head: the node's signature over the size and root hash of the log at a
    moment. Members keep the heads they have seen; a rewritten log no longer matches them."""

    __tablename__ = "audit_tree_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(Integer, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    key_id: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
