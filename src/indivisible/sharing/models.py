"""Tables of the STIX store: every version of every object, stored whole, with its release."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
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


class TaxiiCollection(Base):
    """A TAXII collection: where objects are posted and read, and the release they get there.

    Its API root is the community it serves: ``node`` for the whole node, or an organisation's
    code in lower case. Objects posted over TAXII take the collection's release; their TLP still
    comes from each object's own markings.
    """

    __tablename__ = "taxii_collection"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_code: Mapped[str | None] = mapped_column(ForeignKey("organisation.code"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    alias: Mapped[str | None] = mapped_column(String(100))
    distribution: Mapped[str] = mapped_column(String(20))
    distribution_organisation: Mapped[str | None] = mapped_column(ForeignKey("organisation.code"))
    distribution_partners: Mapped[bool] = mapped_column(Boolean, default=False)
    distribution_group: Mapped[int | None] = mapped_column(ForeignKey("sharing_group.id"))
    # Space-separated state codes, for distribution=states.
    distribution_states: Mapped[str] = mapped_column(String(2000), default="")
    federate: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("organisation_code", "alias"),
        CheckConstraint(
            "distribution IN ('submitter', 'organisation', 'states', 'group', 'node')",
            name="collection_distribution_kind",
        ),
    )


class TaxiiGrant(Base):
    """Who may read or write a collection: everyone on the node, an organisation (its member
    states on the day and its bodies' staff) or one state."""

    __tablename__ = "taxii_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[str] = mapped_column(
        ForeignKey("taxii_collection.id", ondelete="CASCADE"), index=True
    )
    # everyone | organisation | state
    grantee: Mapped[str] = mapped_column(String(20))
    organisation_code: Mapped[str | None] = mapped_column(ForeignKey("organisation.code"))
    state_code: Mapped[str | None] = mapped_column(ForeignKey("state.code"))
    can_read: Mapped[bool] = mapped_column(Boolean, default=True)
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        CheckConstraint(
            "(grantee = 'everyone' AND organisation_code IS NULL AND state_code IS NULL)"
            " OR (grantee = 'organisation' AND organisation_code IS NOT NULL"
            " AND state_code IS NULL)"
            " OR (grantee = 'state' AND state_code IS NOT NULL AND organisation_code IS NULL)",
            name="grantee_kind",
        ),
        UniqueConstraint("collection_id", "grantee", "organisation_code", "state_code"),
    )


class TaxiiStatus(Base):
    """The outcome of one TAXII POST, kept for clients to poll (at least 24 hours)."""

    __tablename__ = "taxii_status"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    collection_id: Mapped[str] = mapped_column(
        ForeignKey("taxii_collection.id", ondelete="CASCADE")
    )
    principal_id: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    request_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    total_count: Mapped[int]
    # JSON lists of {id, version, message?}, as the status resource shows them.
    successes: Mapped[str] = mapped_column(Text)
    failures: Mapped[str] = mapped_column(Text)
    pendings: Mapped[str] = mapped_column(Text)


class NodeKey(Base):
    """Secrets the node generates for itself and every worker shares (e.g. paging tokens)."""

    __tablename__ = "node_key"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PushReceipt(Base):
    """One envelope a linked node's account posted: which node, when, into which collection,
    and the node's signature over the envelope (sharing/pushes.py), or the mark that it came
    unsigned where this node allows that. The objects stored from it point here."""

    __tablename__ = "push_receipt"

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principal.id"))
    # The node account's username: the origin_node of what it pushed.
    origin: Mapped[str] = mapped_column(String(80))
    collection_id: Mapped[str] = mapped_column(ForeignKey("taxii_collection.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed: Mapped[bool] = mapped_column(Boolean)
    key_id: Mapped[str | None] = mapped_column(String(32))
    # The key itself, so that the receipt can be checked offline without this node's accounts.
    public_key: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Unique: Ed25519 is deterministic, so a replayed push is the same signature.
    signature: Mapped[str | None] = mapped_column(String(120), unique=True)
    # The signed document, envelope included: objects stored from it may later be deleted.
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class StixObject(Base):
    """One version of one STIX object: the JSON as received, indexed columns, and its release."""

    __tablename__ = "stix_object"

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[str] = mapped_column(ForeignKey("taxii_collection.id"))
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
    # The linked node it was received from (a link's name, or the node account that pushed
    # it); null when it was submitted here. What came from elsewhere is never forwarded.
    origin_node: Mapped[str | None] = mapped_column(String(80))
    # The push it came in, when a linked node's account posted it.
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("push_receipt.id"))
    # The state whose signature the object carries (sharing.signatures) and the key it was
    # checked with when stored; null when it came unsigned.
    signer_state: Mapped[str | None] = mapped_column(String(3))
    signer_key: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_stix_object_stix_id", "stix_id"),
        # Where the next submission's date_added starts: the newest one across the node.
        Index("ix_stix_object_date_added", "date_added", "id"),
        # Pages are read in date_added order within one collection, with or without a type.
        Index("ix_stix_object_page", "collection_id", "date_added", "id"),
        Index("ix_stix_object_type_page", "collection_id", "type", "date_added", "id"),
        # Not unique: the same version may sit in two collections, each with its own release,
        # and twice in one when a submitter claims a version it may not see (sharing.service
        # _store says why that is stored rather than refused).
        Index("ix_stix_object_versions", "collection_id", "stix_id", "modified"),
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


class StixObservable(Base):
    """A correlatable value an object version carries (sharing/correlation.py)."""

    __tablename__ = "stix_observable"

    object_id: Mapped[int] = mapped_column(
        ForeignKey("stix_object.id", ondelete="CASCADE"), primary_key=True
    )
    # ipv4 | ipv6 | domain | url | email | hash
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(1000), primary_key=True)
    # IPv4 networks as integer ranges, so that an address meets the networks around it.
    low: Mapped[int | None] = mapped_column(BigInteger)
    high: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_stix_observable_value", "kind", "value"),
        Index("ix_stix_observable_range", "kind", "low", "high"),
    )


class FederationLink(Base):
    """A remote TAXII collection this node exchanges objects with (``indivisible link add``).

    Objects pulled from it land in the local collection with that collection's release and
    ``origin_node`` set to the link's name; local objects of that collection whose release lets
    linked nodes receive them are pushed to it. Each direction keeps its own checkpoint, moved
    in the same transaction as the objects it covers, so an interrupted sync resumes where the
    last committed page ended.
    """

    __tablename__ = "federation_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The remote node's name: it becomes the origin_node of every object received through it.
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # The remote collection's URL, ending in /collections/<id>/.
    url: Mapped[str] = mapped_column(String(1000))
    collection_id: Mapped[str] = mapped_column(
        ForeignKey("taxii_collection.id", ondelete="CASCADE")
    )
    # With a username the secret is a password sent as HTTP Basic; without, a Bearer token.
    # Kept in the node's database, as the node's own secrets are: sync runs unattended.
    username: Mapped[str | None] = mapped_column(String(200))
    secret: Mapped[str] = mapped_column(String(500))
    pull: Mapped[bool] = mapped_column(Boolean, default=True)
    push: Mapped[bool] = mapped_column(Boolean, default=False)
    # The remote's date_added of the last object received (the next pull's added_after).
    pulled_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The local date_added of the last object pushed.
    pushed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("pull OR push", name="link_has_a_direction"),)
