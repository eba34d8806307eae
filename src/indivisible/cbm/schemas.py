"""Inputs and outputs of the CBM module."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from shapely import Polygon

from indivisible.auth.schemas import SubmissionSignatureIn, SubmissionSignatureRead
from indivisible.cbm.ruleset import ActivityKind, Category
from indivisible.registry.schemas import StateCode
from indivisible.schemas import Input

Longitude = Annotated[float, Field(ge=-180, le=180)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]


class PointLocation(Input):
    """A point (longitude, latitude) with a radius around it."""

    point: tuple[Longitude, Latitude]
    radius_km: float = Field(default=0, ge=0, le=2000)


class PolygonLocation(Input):
    """A closed ring of (longitude, latitude) points: the last repeats the first."""

    polygon: list[tuple[Longitude, Latitude]] = Field(min_length=4, max_length=2000)

    @field_validator("polygon")
    @classmethod
    def _closed_and_simple(cls, ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if ring[0] != ring[-1]:
            raise ValueError("the polygon does not close: its last point must repeat its first")
        if not Polygon(ring).is_valid:
            raise ValueError("the polygon crosses itself or has no area")
        return ring


class StateLocation(Input):
    """A named area: a state's whole territory."""

    state: StateCode


class PlannedActivity(Input):
    """A military activity as a state describes it, planned or notified."""

    kind: ActivityKind
    start: date
    end: date
    location: PointLocation | PolygonLocation | StateLocation
    forces: dict[Category, Count] = Field(default_factory=dict, max_length=20)
    purpose: str | None = Field(default=None, max_length=5000)

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError("the activity ends before it starts")
        return end


class NotificationCreate(PlannedActivity):
    observers_invited: list[StateCode] = Field(default_factory=list, max_length=250)
    signature: SubmissionSignatureIn | None = None


class FindingRead(BaseModel):
    rule_set: str
    rule_set_version: int
    rule: str
    topic: str
    outcome: str
    cite: str
    # The explanation in English; message and params let a client render it in its language.
    text: str
    message: str
    params: dict[str, object]


class RecipientRead(BaseModel):
    state: str
    agreements: list[str]
    acknowledged_at: datetime | None


class ClarificationCreate(Input):
    question: str = Field(min_length=1, max_length=10_000)
    urgent: bool = False


class AnswerCreate(Input):
    answer: str = Field(min_length=1, max_length=10_000)


class ClarificationRead(BaseModel):
    id: int
    asked_by_state: str
    question: str
    urgent: bool
    asked_at: datetime
    due_at: datetime | None
    due_rule: str | None
    answer: str | None
    answered_at: datetime | None
    # Unanswered past its deadline, at the time of reading.
    overdue: bool


class NotificationRead(BaseModel):
    id: int
    state: str
    kind: str
    start: date
    end: date
    location: dict[str, object]
    forces: dict[str, int]
    purpose: str | None
    observers_invited: list[str]
    voluntary: bool
    filed_on: date
    filed_at: datetime
    findings: list[FindingRead]
    recipients: list[RecipientRead]
    clarifications: list[ClarificationRead] = []
    # Who signed the notification, or the mark that it came unsigned.
    signature: SubmissionSignatureRead | None = None


Year = Annotated[int, Field(ge=1990, le=2100)]
Sector = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[a-z0-9][a-z0-9-]*$")]


class Holding(Input):
    """Forces of one category in the area (in one sector where the regime has sectors)."""

    sector: Sector | None = None
    category: Category
    count: Count


class AnnualDataCreate(Input):
    """A state's annual information under one regime, as of 1 January of the year."""

    rule_set: str = Field(min_length=1, max_length=60)
    year: Year
    holdings: list[Holding] = Field(min_length=1, max_length=200)
    signature: SubmissionSignatureIn | None = None

    @field_validator("holdings")
    @classmethod
    def _once_each(cls, holdings: list[Holding]) -> list[Holding]:
        seen: set[tuple[str | None, Category]] = set()
        for holding in holdings:
            key = (holding.sector, holding.category)
            if key in seen:
                raise ValueError(
                    f"{holding.category.value} is given twice for sector {holding.sector or '-'}"
                )
            seen.add(key)
        return holdings


class AnnualDataRead(BaseModel):
    id: int
    rule_set: str
    state: str
    year: int
    holdings: list[dict[str, object]]
    submitted_on: date
    submitted_at: datetime
    revised_at: datetime | None
    signature: SubmissionSignatureRead | None = None


class CalendarCreate(Input):
    """A state's calendar of planned activities for a year (added to what it sent before)."""

    year: Year
    activities: list[PlannedActivity] = Field(min_length=1, max_length=500)

    @field_validator("activities")
    @classmethod
    def _in_the_year(
        cls, activities: list[PlannedActivity], info: ValidationInfo
    ) -> list[PlannedActivity]:
        year = info.data.get("year")
        for activity in activities:
            if year is not None and activity.start.year != year:
                raise ValueError(f"an activity starting {activity.start} is not in {year}")
        return activities


class CalendarEntryRead(BaseModel):
    id: int
    state: str
    year: int
    kind: str
    start: date
    end: date
    location: dict[str, object]
    forces: dict[str, int]
    purpose: str | None
    agreements: list[str]
    submitted_on: date


class VerificationCreate(Input):
    rule_set: str = Field(min_length=1, max_length=60)
    kind: Literal["inspection", "evaluation-visit"]
    receiving_state: StateCode
    visit_on: date
    sector: Sector | None = None


class VerificationDecision(Input):
    accept: bool
    # Required when refusing: the regime's grounds (e.g. the quota is used up).
    grounds: str | None = Field(default=None, max_length=5000)


class VerificationReport(Input):
    report: str = Field(min_length=1, max_length=50_000)


class VerificationRead(BaseModel):
    id: int
    rule_set: str
    kind: str
    requesting_state: str
    receiving_state: str
    sector: str | None
    year: int
    visit_on: date
    status: str
    beyond_quota: bool
    grounds: str | None
    report: str | None
    requested_at: datetime
    decided_at: datetime | None
    reported_at: datetime | None


class CeilingCheck(BaseModel):
    rule: str
    cite: str
    # Whose forces count: a side of the agreement, one state, or each party on its own.
    side: str | None
    state: str | None
    sector: str | None
    category: str
    limit: float | None
    holding: int | None
    # held | exceeded | no-data (a state it covers sent no annual data) | unknown (no limit read)
    outcome: str
    missing: list[str]


class QuotaUse(BaseModel):
    rule: str
    cite: str
    kind: str
    receiving_state: str
    sector: str | None
    per_year: float | None
    # Accepted or reported visits that count against the quota this year.
    used: int
    refused: int
    beyond_quota: int


class StateCompliance(BaseModel):
    state: str
    side: str | None
    notifications: int
    on_time: int
    late: int
    # Required, but the notice period could not be read, so timeliness is not judged.
    required_undated: int
    voluntary: int
    # Planned in the calendar, required by the rules, started, and never notified.
    missing: list[int]
    # Activities over an observation threshold where not every other party was invited.
    observers_not_invited: list[int]
    # Activities that broke a constraint on how many of their size a period allows.
    constraints_broken: list[int]
    # Required notifications lacking content their rule requires.
    incomplete: list[int]
    annual_data: bool
    # Sent after the regime's due date (None: not sent, or the regime sets no date).
    annual_data_late: bool | None
    # Clarification requests this state has not answered, and of those past their deadline.
    open_clarifications: int
    overdue_clarifications: int


class ComplianceReport(BaseModel):
    rule_set: str
    title: str
    # The regime's title by language (en, ru, zh where the file gives it).
    titles: dict[str, str] = {}
    year: int
    as_of: date
    # When the year's annual data was due, where the rule set encodes it.
    annual_data_due: date | None = None
    states: list[StateCompliance]
    ceilings: list[CeilingCheck]
    quotas: list[QuotaUse]
    gaps: list[dict[str, str]]


class RuleSetSummary(BaseModel):
    code: str
    agreement: str
    version: int
    title: str
    area: str
    notification_rules: int
    observation_rules: int
    ceilings: int
    quotas: int
    sectors: list[str]
    gaps: list[dict[str, str]]


class WebhookCreate(Input):
    url: str = Field(min_length=8, max_length=2000)


class WebhookRead(BaseModel):
    id: int
    state: str
    url: str
    active: bool
    created_at: datetime
    # Deliveries still to be attempted, and those given up.
    pending: int
    failed: int


class WebhookCreated(WebhookRead):
    # Shown once: the key of the HMAC-SHA256 signature on every request to the URL.
    secret: str
