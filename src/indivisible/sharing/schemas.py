"""Inputs and outputs of the STIX store."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from indivisible.registry.schemas import OrgCode, StateCode
from indivisible.schemas import Input


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
        return self


class Outcome(BaseModel):
    """What happened to one object of a submission, as a TAXII status lists it."""

    id: str | None
    version: str | None = None
    message: str | None = None


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
