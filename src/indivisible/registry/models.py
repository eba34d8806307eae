"""Tables of the registry. Every period is half-open: ``valid_from`` inclusive, ``valid_to`` exclusive."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from indivisible.db import Base

Code = String(40)


class Source(Base):
    """A work a fact is taken from."""

    __tablename__ = "source"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    publisher: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(1000))
    reference: Mapped[str | None] = mapped_column(String(500))
    accessed: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("url IS NOT NULL OR reference IS NOT NULL", name="locatable"),
    )


class Citation(Base):
    """Links one fact (by table and key) to one of its sources."""

    __tablename__ = "citation"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_key: Mapped[str] = mapped_column(String(120))
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="RESTRICT"))

    __table_args__ = (
        UniqueConstraint("subject_type", "subject_key", "source_id"),
        Index("ix_citation_subject", "subject_type", "subject_key"),
    )


class State(Base):
    """An ISO 3166-1 entry."""

    __tablename__ = "state"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    alpha2: Mapped[str] = mapped_column(String(2), unique=True)
    numeric: Mapped[str] = mapped_column(String(3))
    name_en: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200))
    official_name_en: Mapped[str | None] = mapped_column(String(300))


class Border(Base):
    """A land border between two states, stored once with the codes in order."""

    __tablename__ = "border"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_a: Mapped[str] = mapped_column(ForeignKey("state.code"))
    state_b: Mapped[str] = mapped_column(ForeignKey("state.code"))
    length_km: Mapped[float | None] = mapped_column(Float)
    uncertain: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    # The data file a fact was loaded from; null for facts entered through the API. A load prunes
    # the facts of its files that the files no longer contain.
    origin: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        UniqueConstraint("state_a", "state_b"),
        CheckConstraint("state_a < state_b", name="ordered_pair"),
    )


class Organisation(Base):
    __tablename__ = "organisation"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    name_en: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str | None] = mapped_column(String(300))
    name_zh: Mapped[str | None] = mapped_column(String(300))
    abbreviation_en: Mapped[str | None] = mapped_column(String(40))
    abbreviation_ru: Mapped[str | None] = mapped_column(String(40))
    abbreviation_zh: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    founded: Mapped[date | None] = mapped_column(Date)
    founded_precision: Mapped[str] = mapped_column(String(5), default="day")
    dissolved: Mapped[date | None] = mapped_column(Date)
    succeeded_by: Mapped[str | None] = mapped_column(Code)
    seat_state: Mapped[str | None] = mapped_column(ForeignKey("state.code"))
    seat_city: Mapped[str | None] = mapped_column(String(120))
    uncertain: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    # The data file a fact was loaded from; null for facts entered through the API. A load prunes
    # the facts of its files that the files no longer contain.
    origin: Mapped[str | None] = mapped_column(String(500))


class Body(Base):
    """A standing organ of an organisation (secretariat, RATS, collective forces...)."""

    __tablename__ = "body"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    organisation_code: Mapped[str] = mapped_column(ForeignKey("organisation.code"), index=True)
    name_en: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str | None] = mapped_column(String(300))
    name_zh: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    seat_state: Mapped[str | None] = mapped_column(ForeignKey("state.code"))
    seat_city: Mapped[str | None] = mapped_column(String(120))
    established: Mapped[date | None] = mapped_column(Date)
    established_precision: Mapped[str] = mapped_column(String(5), default="day")
    abolished: Mapped[date | None] = mapped_column(Date)
    uncertain: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    # The data file a fact was loaded from; null for facts entered through the API. A load prunes
    # the facts of its files that the files no longer contain.
    origin: Mapped[str | None] = mapped_column(String(500))


class Membership(Base):
    """A state's status in an organisation over a period."""

    __tablename__ = "membership"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"))
    organisation_code: Mapped[str] = mapped_column(ForeignKey("organisation.code"))
    status: Mapped[str] = mapped_column(String(20))
    valid_from: Mapped[date] = mapped_column(Date)
    from_precision: Mapped[str] = mapped_column(String(5), default="day")
    valid_to: Mapped[date | None] = mapped_column(Date)
    to_precision: Mapped[str] = mapped_column(String(5), default="day")
    uncertain: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    # The data file a fact was loaded from; null for facts entered through the API. A load prunes
    # the facts of its files that the files no longer contain.
    origin: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="period"),
        Index("ix_membership_org_period", "organisation_code", "valid_from"),
        Index("ix_membership_state", "state_code", "organisation_code"),
    )


class Agreement(Base):
    __tablename__ = "agreement"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    title_en: Mapped[str] = mapped_column(String(500))
    title_ru: Mapped[str | None] = mapped_column(String(500))
    title_zh: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    signed: Mapped[date | None] = mapped_column(Date)
    signed_precision: Mapped[str] = mapped_column(String(5), default="day")
    signed_at: Mapped[str | None] = mapped_column(String(120))
    in_force: Mapped[date | None] = mapped_column(Date)
    in_force_precision: Mapped[str] = mapped_column(String(5), default="day")
    # The day the agreement stops binding anyone, after every extension; null while indefinite.
    expires: Mapped[date | None] = mapped_column(Date)
    organisation_code: Mapped[str | None] = mapped_column(ForeignKey("organisation.code"))
    uncertain: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    # The data file a fact was loaded from; null for facts entered through the API. A load prunes
    # the facts of its files that the files no longer contain.
    origin: Mapped[str | None] = mapped_column(String(500))


class AgreementParty(Base):
    """A state bound by an agreement, or every state with given statuses in an organisation."""

    __tablename__ = "agreement_party"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_code: Mapped[str] = mapped_column(
        ForeignKey("agreement.code", ondelete="CASCADE"), index=True
    )
    state_code: Mapped[str | None] = mapped_column(ForeignKey("state.code"))
    members_of: Mapped[str | None] = mapped_column(ForeignKey("organisation.code"))
    # Comma-separated membership statuses that count as parties when members_of is set.
    statuses: Mapped[str | None] = mapped_column(String(120))
    valid_from: Mapped[date | None] = mapped_column(Date)
    from_precision: Mapped[str] = mapped_column(String(5), default="day")
    valid_to: Mapped[date | None] = mapped_column(Date)
    # For agreements between sides (China and the "Joint Party" of 1996 and 1997): parties on the
    # same side owe each other nothing under the agreement. Null: everyone is bound to everyone.
    side: Mapped[str | None] = mapped_column(String(40))
    uncertain: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(
            "(state_code IS NULL) <> (members_of IS NULL)", name="state_or_organisation"
        ),
    )


class Obligation(Base):
    """What an agreement binds its parties to, and the article it comes from."""

    __tablename__ = "obligation"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_code: Mapped[str] = mapped_column(
        ForeignKey("agreement.code", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    article: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text)
    uncertain: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
