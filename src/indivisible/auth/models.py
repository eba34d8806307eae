"""Accounts of people and machines, their API tokens and their web sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from indivisible.db import Base


class Principal(Base):
    __tablename__ = "principal"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    state_code: Mapped[str | None] = mapped_column(ForeignKey("state.code"))
    body_code: Mapped[str | None] = mapped_column(ForeignKey("body.code"))
    # Null for machine accounts, which authenticate with tokens only.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # A linked node's account only: the Ed25519 public key (base64 of its 32 bytes) that node
    # signs its pushes with. Set by the operator from what the other node's operator gave.
    node_public_key: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        # Every principal acts for exactly one state or one organisation body, except node admins.
        CheckConstraint(
            "role = 'admin' OR (state_code IS NULL) <> (body_code IS NULL)",
            name="belongs_to_state_or_body",
        ),
    )


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principal.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # The token's first characters, shown in lists so a holder can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principal.id"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StateKey(Base):
    """A state's Ed25519 public key for signing submissions, valid from a moment until it is
    rotated out (``valid_to``) or revoked; a signature made after either does not verify."""

    __tablename__ = "state_key"

    # The key's id: the start of the SHA-256 of the public key (auth/signing.py).
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"), index=True)
    # The raw 32-byte public key, base64.
    public_key: Mapped[str] = mapped_column(String(60))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    # Where the operator adopted the key from (another node's key list, ``keys.adopt``); null
    # when the state's liaison officer registered it here. An adopted key checks what linked
    # nodes forward, never a submission made on this node: the operator cannot sign for a state.
    adopted_from: Mapped[str | None] = mapped_column(Text)


class SubmissionSignature(Base):
    """Who signed a submission that binds a state, with which key, over which document; or
    the mark that it came unsigned, where the node allows that. Written in the transaction of
    the submission, and only for a signature that verified."""

    __tablename__ = "submission_signature"

    id: Mapped[int] = mapped_column(primary_key=True)
    # cbm.notification, cbm.annual_data, crisis.request, crisis.position
    kind: Mapped[str] = mapped_column(String(40))
    subject_key: Mapped[str] = mapped_column(String(120))
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"))
    principal_id: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed: Mapped[bool] = mapped_column(Boolean)
    key_id: Mapped[str | None] = mapped_column(ForeignKey("state_key.id"))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Unique: an Ed25519 signature is deterministic, so the same signed submission sent again
    # (a replay) is refused.
    signature: Mapped[str | None] = mapped_column(String(120), unique=True)
    # The document the signature covers (auth/submissions.py), kept so that anyone can check
    # it again offline.
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    # With id last, the latest signature of each subject is found in the index alone.
    __table_args__ = (Index("ix_submission_signature_subject", "kind", "subject_key", "id"),)
