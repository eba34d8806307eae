"""Input and output shapes of the registry; inputs name every field a client may send."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from indivisible.registry.enums import (
    AgreementKind,
    BodyKind,
    DatePrecision,
    MembershipStatus,
    ObligationKind,
    OrganisationKind,
)
from indivisible.schemas import Input

StateCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3")]
OrgCode = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{0,39}$")]
AgreementCode = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{0,59}$")]
SourceKey = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,119}$")]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
ShortText = Annotated[str, Field(min_length=1, max_length=300)]
# Lengths match the columns they are stored in, so PostgreSQL never has to refuse a value.
PlaceName = Annotated[str, Field(min_length=1, max_length=120)]
Abbreviation = Annotated[str, Field(min_length=1, max_length=40)]
Article = Annotated[str, Field(min_length=1, max_length=120)]


class Sourced(Input):
    """Every fact names at least one source by key."""

    sources: list[SourceKey] = Field(min_length=1, max_length=20)

    @field_validator("sources", mode="after")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each source may be cited once")
        return value

    uncertain: Text | None = None
    note: Text | None = None


class SourceCreate(Input):
    key: SourceKey
    title: ShortText
    publisher: ShortText | None = None
    url: Annotated[str, Field(pattern=r"^https?://\S+$", max_length=1000)] | None = None
    reference: ShortText | None = None
    accessed: date
    note: Text | None = None

    @model_validator(mode="after")
    def _locatable(self) -> SourceCreate:
        if self.url is None and self.reference is None:
            raise ValueError("a source needs a url or a document reference")
        return self


class Names(Input):
    en: ShortText
    ru: ShortText | None = None
    zh: ShortText | None = None


class Abbreviations(Input):
    en: Abbreviation
    ru: Abbreviation | None = None
    zh: Abbreviation | None = None


class OrganisationCreate(Sourced):
    code: OrgCode
    name: Names
    abbreviation: Abbreviations | None = None
    kind: OrganisationKind
    founded: date | None = None
    founded_precision: DatePrecision = DatePrecision.day
    dissolved: date | None = None
    succeeded_by: OrgCode | None = None
    seat_state: StateCode | None = None
    seat_city: PlaceName | None = None


class BodyCreate(Sourced):
    code: OrgCode
    organisation: OrgCode
    name: Names
    kind: BodyKind
    seat_state: StateCode | None = None
    seat_city: PlaceName | None = None
    established: date | None = None
    established_precision: DatePrecision = DatePrecision.day
    abolished: date | None = None


class MembershipCreate(Sourced):
    state: StateCode
    organisation: OrgCode
    status: MembershipStatus
    valid_from: date
    from_precision: DatePrecision = DatePrecision.day
    valid_to: date | None = None
    to_precision: DatePrecision = DatePrecision.day

    @model_validator(mode="after")
    def _period(self) -> MembershipCreate:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from (periods are half-open)")
        return self


class MembershipUpdate(Input):
    """Close or correct a period; sources, when given, replace the old ones."""

    status: MembershipStatus | None = None
    valid_to: date | None = None
    to_precision: DatePrecision | None = None
    sources: list[SourceKey] | None = Field(default=None, min_length=1, max_length=20)
    uncertain: Text | None = None
    note: Text | None = None


class PartyCreate(Sourced):
    state: StateCode | None = None
    members_of: OrgCode | None = None
    # Agreements between sides (e.g. China and the Joint Party): same-side parties owe each other nothing.
    side: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    statuses: list[MembershipStatus] = Field(
        default=[MembershipStatus.member], min_length=1, max_length=len(MembershipStatus)
    )
    valid_from: date | None = None
    from_precision: DatePrecision = DatePrecision.day
    valid_to: date | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> PartyCreate:
        if (self.state is None) == (self.members_of is None):
            raise ValueError("a party is either a state or the members of an organisation")
        if self.state is not None and self.statuses != [MembershipStatus.member]:
            raise ValueError("statuses apply only to the members of an organisation")
        if len(set(self.statuses)) != len(self.statuses):
            raise ValueError("each status may be given once")
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self


class ObligationCreate(Sourced):
    kind: ObligationKind
    article: Article
    summary: Text


class AgreementCreate(Sourced):
    code: AgreementCode
    title: Names
    kind: AgreementKind
    signed: date | None = None
    signed_precision: DatePrecision = DatePrecision.day
    signed_at: PlaceName | None = None
    in_force: date | None = None
    in_force_precision: DatePrecision = DatePrecision.day
    expires: date | None = None
    organisation: OrgCode | None = None
    parties: list[PartyCreate] = Field(min_length=1, max_length=400)
    obligations: list[ObligationCreate] = Field(default=[], max_length=100)

    @model_validator(mode="after")
    def _dates(self) -> AgreementCreate:
        start = self.in_force or self.signed
        if start and self.expires and self.expires <= start:
            raise ValueError("expires must be after the entry into force")
        return self


class BorderCreate(Sourced):
    states: tuple[StateCode, StateCode]
    length_km: Annotated[float, Field(gt=0, lt=30000)] | None = None

    @model_validator(mode="after")
    def _two_states(self) -> BorderCreate:
        if self.states[0] == self.states[1]:
            raise ValueError("a border joins two different states")
        return self


# ---- outputs -------------------------------------------------------------------------------


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SourceRead(Output):
    key: str
    title: str
    publisher: str | None
    url: str | None
    reference: str | None
    accessed: date
    note: str | None


class StateRead(Output):
    code: str
    alpha2: str
    name_en: str
    name_ru: str
    name_zh: str
    official_name_en: str | None


class OrganisationRead(Output):
    code: str
    name_en: str
    name_ru: str | None
    name_zh: str | None
    abbreviation_en: str | None
    kind: str
    founded: date | None
    founded_precision: str
    dissolved: date | None
    seat_state: str | None
    seat_city: str | None
    uncertain: str | None
    note: str | None
    sources: list[SourceRead] = []


class BodyRead(Output):
    code: str
    organisation_code: str
    name_en: str
    name_ru: str | None
    name_zh: str | None
    kind: str
    seat_state: str | None
    seat_city: str | None
    established: date | None
    established_precision: str
    abolished: date | None
    uncertain: str | None
    sources: list[SourceRead] = []


class MembershipRead(Output):
    id: int
    state_code: str
    organisation_code: str
    status: str
    valid_from: date
    from_precision: str
    valid_to: date | None
    to_precision: str
    uncertain: str | None
    note: str | None
    sources: list[SourceRead] = []


class ObligationRead(Output):
    id: int
    kind: str
    article: str
    summary: str
    uncertain: str | None
    sources: list[SourceRead] = []


class PartyRead(Output):
    id: int
    state_code: str | None
    members_of: str | None
    statuses: str | None
    side: str | None
    valid_from: date | None
    from_precision: str
    valid_to: date | None
    uncertain: str | None
    sources: list[SourceRead] = []


class AgreementRead(Output):
    code: str
    title_en: str
    title_ru: str | None
    title_zh: str | None
    kind: str
    signed: date | None
    signed_precision: str
    signed_at: str | None
    in_force: date | None
    in_force_precision: str
    expires: date | None
    organisation_code: str | None
    uncertain: str | None
    note: str | None
    sources: list[SourceRead] = []
    parties: list[PartyRead] = []
    obligations: list[ObligationRead] = []


class BorderRead(Output):
    state_a: str
    state_b: str
    length_km: float | None
    uncertain: str | None
    sources: list[SourceRead] = []


class MembersOn(BaseModel):
    organisation: str
    on: date
    members: list[MembershipRead]


class TimelineRow(BaseModel):
    state: str
    state_name: str
    periods: list[MembershipRead]


class Caveat(BaseModel):
    """Why an answer may not hold exactly: a code to act on, and the detail in the data's words."""

    code: str = Field(
        description="in_force_unrecorded | date_approximate | agreement_uncertain | "
        "party_uncertain | obligation_uncertain"
    )
    detail: str


class AgreementStanding(BaseModel):
    agreement: str
    title: str
    title_ru: str | None
    title_zh: str | None
    in_force: date | None
    expires: date | None
    obligations: list[ObligationRead]
    basis: str = Field(description="why the state is a party: 'state' or 'members_of:<ORG>'")
    side: str | None = None
    caveats: list[Caveat] = []


class StateStanding(BaseModel):
    state: str
    on: date
    memberships: list[MembershipRead]
    agreements: list[AgreementStanding]


class PartyOn(BaseModel):
    state: str
    basis: str
    side: str | None = None
    participation: str | None = None
    caveats: list[Caveat] = []


class PartiesOn(BaseModel):
    agreement: str
    on: date
    in_force: bool
    parties: list[PartyOn]
    caveats: list[Caveat] = []


class Duty(BaseModel):
    """One state's duty towards the state in question under one article."""

    state: str
    agreement: str
    agreement_title: str
    agreement_title_ru: str | None = None
    agreement_title_zh: str | None = None
    article: str
    kind: str
    summary: str
    uncertain: str | None
    sources: list[SourceRead]
    # Set when the duty-bearer's participation is frozen or suspended on the date.
    participation: str | None = None
    caveats: list[Caveat] = []


class OwnParticipation(BaseModel):
    """The asking state's own standing in an agreement's organisation, when it is not active."""

    agreement: str
    organisation: str
    status: str


class AssistanceAnswer(BaseModel):
    state: str
    on: date
    bound_to_assist: list[Duty]
    only_consult: list[Duty]
    participation_inactive: list[Duty]
    # The asking state's own participation frozen or suspended: its allies' duties may be moot.
    own_participation: list[OwnParticipation] = []


class BeltNeighbour(BaseModel):
    state: str
    state_name: str
    border_km: float | None
    organisations: list[MembershipRead]
    # Other belt states (and the centre) bound to this neighbour, per agreement.
    bound_with: dict[str, list[str]]


class SecurityBelt(BaseModel):
    state: str
    on: date
    neighbours: list[BeltNeighbour]
    # Per organisation, which neighbours are its members (observers and partners are not covered).
    coverage: dict[str, list[str]]


class Overlap(BaseModel):
    a: str
    b: str
    on: date
    statuses: list[str]
    both: list[str]
    only_a: list[str]
    only_b: list[str]
