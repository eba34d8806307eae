"""Inputs and outputs of the STIX store."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator

from indivisible.registry.schemas import OrgCode, StateCode
from indivisible.schemas import Input
from indivisible.sharing.signatures import Refusal


class Distribution(StrEnum):
    submitter = "submitter"
    organisation = "organisation"
    states = "states"
    group = "group"
    node = "node"


class Release(Input):
    """Who may see the objects of one submission; TLP comes from each object's markings."""

    distribution: Distribution
    organisation: OrgCode | None = None
    # With distribution=organisation: also its observers, dialogue partners and partners.
    include_partners: bool = False
    states: list[StateCode] = Field(default=[], max_length=250)
    group: str | None = Field(default=None, min_length=1, max_length=120)
    federate: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Release:
        needs = {
            Distribution.organisation: self.organisation is not None,
            Distribution.states: bool(self.states),
            Distribution.group: self.group is not None,
        }
        if not needs.get(self.distribution, True):
            raise ValueError("the distribution names no organisation, states or group")
        if self.federate and self.distribution is Distribution.submitter:
            raise ValueError("a release to the submitting state only cannot go to linked nodes")
        return self


class Outcome(BaseModel):
    """What happened to one object of a submission, as a TAXII status lists it."""

    id: str | None
    version: str | None = None
    message: str | None = None
    # Why a state signature was refused, so that a page can say it in the reader's language
    # and by the right field. Not part of the TAXII status, whose message is in English.
    refusal: Refusal | None = Field(default=None, exclude=True)


class SubmitResult(BaseModel):
    successes: list[Outcome] = []
    failures: list[Outcome] = []


class Grantee(StrEnum):
    everyone = "everyone"
    organisation = "organisation"
    state = "state"


class Grant(Input):
    """Who may read or write a collection."""

    grantee: Grantee
    organisation: OrgCode | None = None
    state: StateCode | None = None
    can_read: bool = True
    can_write: bool = False

    @model_validator(mode="after")
    def _names_one(self) -> Grant:
        if (self.grantee is Grantee.organisation) != (self.organisation is not None) or (
            self.grantee is Grantee.state
        ) != (self.state is not None):
            raise ValueError("an organisation grant names an organisation, a state grant a state")
        return self


class CollectionCreate(Input):
    """A TAXII collection; ``organisation`` chooses its API root (none: the node's root)."""

    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    alias: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[a-z0-9-]+$")
    organisation: OrgCode | None = None
    release: Release
    grants: list[Grant] = Field(
        default_factory=lambda: [Grant(grantee=Grantee.everyone, can_read=True, can_write=True)],
        max_length=500,
    )


class CorrelationRead(BaseModel):
    """Another state's report that carries a value this object carries ("also reported by")."""

    stix_id: str
    type: str
    collection_id: str
    submitter_state: str | None
    kind: str
    value: str
    their_value: str


class LinkCreate(Input):
    """A remote TAXII collection to exchange objects with, and the local collection it feeds."""

    # The remote node's name: received objects carry it as their origin.
    name: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    url: str = Field(
        min_length=1,
        max_length=1000,
        pattern=r"^https?://[^\s/]+(/[^\s]*)?/collections/[^/\s]+/?$",
        description="The remote collection's URL: …/taxii2/<api-root>/collections/<id>/.",
    )
    collection: str = Field(min_length=1, max_length=36, description="The local collection.")
    username: str | None = Field(default=None, min_length=1, max_length=200)
    secret: str = Field(min_length=1, max_length=500)
    pull: bool = True
    push: bool = False

    @model_validator(mode="after")
    def _has_a_direction(self) -> LinkCreate:
        if not (self.pull or self.push):
            raise ValueError("a link pulls, pushes or both")
        return self


class GroupCreate(Input):
    name: str = Field(min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=5000)


class MemberCreate(Input):
    """A state, or an organisation (its members on the day of reading count)."""

    state: StateCode | None = None
    organisation: OrgCode | None = None

    @model_validator(mode="after")
    def _one(self) -> MemberCreate:
        if (self.state is None) == (self.organisation is None):
            raise ValueError("a member is a state or an organisation")
        return self


class GroupRead(BaseModel):
    id: int
    name: str
    description: str | None
    states: list[str]
    organisations: list[str]


class ObjectSubmit(Input):
    """Objects (or a STIX bundle) for a collection, optionally with a release of their own."""

    collection: str = Field(min_length=1, max_length=36)
    release: Release | None = None
    objects: list[dict[str, object]] = Field(default_factory=list, max_length=10_000)
    bundle: dict[str, object] | None = None


class ReceiptRead(BaseModel):
    """The push a received version came in: which node's account, and whether that node
    signed the envelope, with which key. The envelope itself stays with the operator: it may
    hold objects this reader may not see (``indivisible link receipts``)."""

    receipt: int
    origin: str
    received_at: datetime
    signed: bool
    key_id: str | None
    signed_at: datetime | None


class VersionRead(BaseModel):
    stix_id: str
    type: str
    collection_id: str
    version: str | None
    date_added: str
    tlp: str
    distribution: str
    organisation: str | None
    include_partners: bool
    states: list[str]
    group: str | None
    federate: bool
    submitter_state: str | None
    origin_node: str | None
    received: ReceiptRead | None = None
    # The state whose signature the version carries, checked with this key when it was
    # stored (sharing.signatures); null when it came unsigned.
    signer_state: str | None = None
    signer_key: str | None = None


class ObjectPage(BaseModel):
    total: int
    objects: list[VersionRead]


class ObjectRead(BaseModel):
    """The newest version a reader may see of an object, with the versions they may see."""

    object: dict[str, object]
    release: VersionRead
    history: list[VersionRead]
    # The newest version's state signature as a block ``indivisible keys verify-item`` checks
    # offline, with the signing state's public key; ``{"signed": false}`` when unsigned.
    signature: dict[str, Any]
