"""Inputs and outputs of the CBM module."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from shapely import Polygon

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


class NotificationCreate(Input):
    kind: ActivityKind
    start: date
    end: date
    location: PointLocation | PolygonLocation | StateLocation
    forces: dict[Category, Count] = Field(default_factory=dict, max_length=20)
    purpose: str | None = Field(default=None, max_length=5000)
    observers_invited: list[StateCode] = Field(default_factory=list, max_length=250)

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError("the activity ends before it starts")
        return end


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
