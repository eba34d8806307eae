"""Inputs and outputs of crisis response."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator

from indivisible.crisis.rules import Position
from indivisible.schemas import Input


def _known_zone(zone: str) -> str:
    if zone not in available_timezones():
        raise ValueError("not an IANA time zone, e.g. Asia/Almaty")
    return zone


def _offset_of_the_zone(moment: datetime, info: ValidationInfo) -> datetime:
    zone = info.data.get("time_zone")
    if zone is not None and moment.utcoffset() != moment.astimezone(ZoneInfo(zone)).utcoffset():
        raise ValueError(f"its UTC offset is not that of {zone} at that moment")
    return moment


class RequestCreate(Input):
    """An affected state's request for assistance, which opens a crisis."""

    organisation: str = Field(min_length=1, max_length=60, description="Whose members are asked.")
    kind: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z-]*$")
    summary: str = Field(min_length=1, max_length=5000)
    agreement: str = Field(min_length=1, max_length=60)
    article: str = Field(min_length=1, max_length=120)
    time_zone: str = Field(min_length=1, max_length=64, description="IANA, e.g. Asia/Almaty.")
    requested_at: AwareDatetime = Field(description="With its UTC offset, to the minute.")
    text: str | None = Field(default=None, max_length=20_000)

    _zone = field_validator("time_zone")(_known_zone)
    _offset = field_validator("requested_at")(_offset_of_the_zone)


class DecisionClose(Input):
    """When the body took the decision, with the time zone it was announced in."""

    time_zone: str = Field(min_length=1, max_length=64, description="IANA, e.g. Europe/Moscow.")
    decided_at: AwareDatetime = Field(description="With its UTC offset, to the minute.")

    _zone = field_validator("time_zone")(_known_zone)
    _offset = field_validator("decided_at")(_offset_of_the_zone)


class DecisionCreate(Input):
    body: str = Field(min_length=1, max_length=60)
    session_on: date
    question: str = Field(min_length=1, max_length=5000)


class PositionCreate(Input):
    position: Position


class RequestRead(BaseModel):
    id: int
    agreement: str
    article: str
    requested_at: datetime
    # The same moment in the time zone it was made in.
    requested_local: str
    time_zone: str
    text: str | None


class PositionRead(BaseModel):
    state: str
    position: str
    counted: bool
    recorded_at: datetime


class DecisionRead(BaseModel):
    id: int
    body: str
    session_on: date
    question: str
    closed_at: datetime | None
    decided_at: datetime | None
    decided_local: str | None
    # From the request to the decision, in minutes (a measure of the speed of reaction).
    minutes_from_request: int | None
    # Computed from the positions; final once closed.
    result: str
    final: bool
    positions: list[PositionRead]
    eligible: list[str]
    silent: list[str]
    quorum_checked: bool


class CrisisRead(BaseModel):
    id: int
    affected_state: str
    organisation: str
    kind: str
    summary: str
    started_on: date
    requests: list[RequestRead]
    decisions: list[DecisionRead]
