"""Tables of the STIX store: every version of every object, stored whole, with its release."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from indivisible.db import Base


class SharingGroup(Base):
    """A named, managed list of states and organisations that objects can be released to."""

    __tablename__ = "sharing_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SharingGroupMember(Base):
    __tablename__ = "sharing_group_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("sharing_group.id", ondelete="CASCADE"), index=True
    )
    state_code: Mapped[str | None] = mapped_column(ForeignKey("state.code"))
    # Every member of the organisation (status member) on the day of reading.
    organisation_code: Mapped[str | None] = mapped_column(ForeignKey("organisation.code"))

    __table_args__ = (
        CheckConstraint(
            "(state_code IS NULL) <> (organisation_code IS NULL)", name="state_or_organisation"
        ),
        UniqueConstraint("group_id", "state_code", "organisation_code"),
    )


class StixObject(Base):
    """One version of one STIX object: the JSON as received, indexed columns, and its release."""

    __tablename__ = "stix_object"

    id: Mapped[int] = mapped_column(primary_key=True)
    stix_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(60))
    spec_version: Mapped[str] = mapped_column(String(10))
    created: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The version; for objects without one (marking definitions) their created time.
    modified: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    date_added: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[str] = mapped_column(Text)
    submitter_state: Mapped[str | None] = mapped_column(ForeignKey("state.code"))
    submitter_principal: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    tlp: Mapped[str] = mapped_column(String(20))
    # submitter | organisation | states | group | node
    distribution: Mapped[str] = mapped_column(String(20))
    distribution_organisation: Mapped[str | None] = mapped_column(ForeignKey("organisation.code"))
    # With distribution=organisation: also its observers, dialogue partners and partners.
    distribution_partners: Mapped[bool] = mapped_column(Boolean, default=False)
    distribution_group: Mapped[int | None] = mapped_column(ForeignKey("sharing_group.id"))
    # Whether linked nodes may receive it (never for AMBER+STRICT or RED).
    federate: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("stix_id", "modified"),
        Index("ix_stix_object_stix_id", "stix_id"),
        Index("ix_stix_object_date_added", "date_added", "id"),
        Index("ix_stix_object_type", "type"),
        CheckConstraint(
            "distribution IN ('submitter', 'organisation', 'states', 'group', 'node')",
            name="distribution_kind",
        ),
    )


class StixObjectRecipient(Base):
    """A state an object is released to by name (distribution=states)."""

    __tablename__ = "stix_object_recipient"

    object_id: Mapped[int] = mapped_column(
        ForeignKey("stix_object.id", ondelete="CASCADE"), primary_key=True
    )
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"), primary_key=True)
