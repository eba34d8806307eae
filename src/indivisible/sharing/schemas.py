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


class Failure(BaseModel):
    id: str | None
    version: str | None
    message: str


class SubmitResult(BaseModel):
    successes: list[str] = []
    failures: list[Failure] = []
