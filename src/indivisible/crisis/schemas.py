"""Inputs and outputs of crisis response."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from indivisible.auth.schemas import SubmissionSignatureIn, SubmissionSignatureRead
from indivisible.crisis.rules import Position
from indivisible.schemas import Input


def _known_zone(zone: str) -> str:
    if zone not in available_timezones():
        raise ValueError("not an IANA time zone, e.g. Asia/Almaty")
    return zone


def _offset_of_the_zone(moment: datetime | None, info: ValidationInfo) -> datetime | None:
    zone = info.data.get("time_zone")
    if (
        moment is not None
        and zone is not None
        and moment.utcoffset() != moment.astimezone(ZoneInfo(zone)).utcoffset()
    ):
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
    plus_minus_minutes: int = Field(
        default=0, ge=0, le=14 * 24 * 60, description="How far off the moment may be."
    )
    text: str | None = Field(default=None, max_length=20_000)
    signature: SubmissionSignatureIn | None = None

    _zone = field_validator("time_zone")(_known_zone)
    _offset = field_validator("requested_at")(_offset_of_the_zone)


class DecisionClose(Input):
    """When the body took the decision, with the time zone it was announced in."""

    time_zone: str = Field(min_length=1, max_length=64, description="IANA, e.g. Europe/Moscow.")
    decided_at: AwareDatetime = Field(description="With its UTC offset, to the minute.")
    plus_minus_minutes: int = Field(
        default=0, ge=0, le=14 * 24 * 60, description="How far off the moment may be."
    )

    _zone = field_validator("time_zone")(_known_zone)
    _offset = field_validator("decided_at")(_offset_of_the_zone)


class DecisionCreate(Input):
    body: str = Field(min_length=1, max_length=60)
    session_on: date
    question: str = Field(min_length=1, max_length=5000)


class PositionCreate(Input):
    position: Position
    signature: SubmissionSignatureIn | None = None


class RequestRead(BaseModel):
    id: int
    agreement: str
    article: str
    requested_at: datetime
    # The same moment in the time zone it was made in.
    requested_local: str
    time_zone: str
    plus_minus_minutes: int
    text: str | None
    signature: SubmissionSignatureRead | None = None


class PositionRead(BaseModel):
    state: str
    position: str
    counted: bool
    recorded_at: datetime
    signature: SubmissionSignatureRead | None = None


class DecisionRead(BaseModel):
    id: int
    body: str
    session_on: date
    question: str
    closed_at: datetime | None
    decided_at: datetime | None
    decided_local: str | None
    decided_plus_minus_minutes: int
    # From the request to the decision, in minutes (a measure of the speed of reaction).
    minutes_from_request: int | None
    # Computed from the positions; final once closed.
    result: str
    final: bool
    positions: list[PositionRead]
    eligible: list[str]
    silent: list[str]
    quorum_checked: bool


def _not_below(earlier: str, rule: str) -> Any:
    """A field validator naming the later field when it comes before ``earlier``."""

    def check(value: Any, info: ValidationInfo) -> Any:
        first = info.data.get(earlier)
        if value is not None and first is not None and value < first:
            raise ValueError(rule)
        return value

    return check


def _task_iff_takeover(task: int | None, info: ValidationInfo) -> int | None:
    if (info.data.get("kind") == "task-taken-over") != (task is not None):
        raise ValueError("required for task-taken-over, and only for it")
    return task


StateCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Category = Annotated[str, StringConstraints(min_length=1, max_length=60)]
Equipment = dict[Category, Annotated[int, Field(ge=0, le=1_000_000)]]


class _Timed(Input):
    """Moments given with their UTC offset and the IANA time zone they were local to."""

    time_zone: str = Field(min_length=1, max_length=64, description="IANA, e.g. Asia/Almaty.")

    _zone = field_validator("time_zone")(_known_zone)


def _both_or_neither(high: int | None, info: ValidationInfo) -> int | None:
    if (high is None) != (info.data.get("personnel_low") is None):
        raise ValueError("give personnel_low and personnel_high together, or neither")
    return high


class _Personnel(Input):
    """A head count, a range where sources disagree, or neither where none was reported."""

    personnel_low: int | None = Field(default=None, ge=0, le=1_000_000)
    personnel_high: int | None = Field(default=None, ge=0, le=1_000_000, validate_default=True)

    _given = field_validator("personnel_high")(_both_or_neither)
    _high = field_validator("personnel_high")(
        _not_below("personnel_low", "must not be below personnel_low")
    )


class ConsultationCreate(_Timed):
    held_at: AwareDatetime
    plus_minus_minutes: int = Field(
        default=0, ge=0, le=14 * 24 * 60, description="How far off the moment may be."
    )
    format: str = Field(min_length=1, max_length=40, description="e.g. videoconference.")
    participants: list[StateCode] = Field(min_length=1, max_length=60)
    summary: str = Field(min_length=1, max_length=20_000)

    _offset = field_validator("held_at")(_offset_of_the_zone)


class TaskCreate(Input):
    title: str = Field(min_length=1, max_length=300)
    place: str | None = Field(default=None, max_length=300)


class OperationCreate(_Timed):
    """The operation an adopted decision sets up (the secretariat)."""

    decision: int = Field(ge=1, description="The adopted decision it carries out.")
    name: str = Field(min_length=1, max_length=200)
    mandate: str = Field(min_length=1, max_length=20_000)
    area: str = Field(min_length=1, max_length=5000)
    commander: str | None = Field(default=None, max_length=200)
    planned_start: AwareDatetime | None = Field(
        default=None, description="Unset when the decision named no dates."
    )
    planned_end: AwareDatetime | None = None
    tasks: list[TaskCreate] = Field(default_factory=list, max_length=200)

    _offset = field_validator("planned_start", "planned_end")(_offset_of_the_zone)

    _end = field_validator("planned_end")(
        _not_below("planned_start", "must not be before planned_start")
    )


class WithdrawalPlanCreate(_Timed):
    planned_start: AwareDatetime
    planned_end: AwareDatetime
    text: str = Field(min_length=1, max_length=20_000)

    _offset = field_validator("planned_start", "planned_end")(_offset_of_the_zone)

    _end = field_validator("planned_end")(
        _not_below("planned_start", "must not be before planned_start")
    )


class PledgeCreate(_Personnel, _Timed):
    """What a member state offers to the operation (its liaison officer)."""

    pledged_at: AwareDatetime
    plus_minus_minutes: int = Field(
        default=0, ge=0, le=14 * 24 * 60, description="How far off the moment may be."
    )
    equipment: Equipment = Field(default_factory=dict, max_length=100)
    readiness_hours: int | None = Field(default=None, ge=0, le=24 * 365)
    note: str | None = Field(default=None, max_length=5000)

    _offset = field_validator("pledged_at")(_offset_of_the_zone)


class ContingentCreate(_Personnel):
    name: str = Field(min_length=1, max_length=200)
    equipment: Equipment = Field(default_factory=dict, max_length=100)
    note: str | None = Field(default=None, max_length=5000)


class Step(StrEnum):
    """A contingent's steps, in the only order they can happen."""

    departed = "departed"
    arrived = "arrived"
    task_taken_over = "task-taken-over"
    withdrawal_started = "withdrawal-started"
    home = "home"


class DeploymentEventCreate(_Timed):
    kind: Step
    at: AwareDatetime
    plus_minus_minutes: int = Field(
        default=0, ge=0, le=14 * 24 * 60, description="How far off the moment may be."
    )
    place: str | None = Field(default=None, max_length=300)
    task: int | None = Field(
        default=None, ge=1, validate_default=True, description="For task-taken-over: which task."
    )
    note: str | None = Field(default=None, max_length=5000)

    _offset = field_validator("at")(_offset_of_the_zone)

    _task = field_validator("task")(_task_iff_takeover)


class SituationReportCreate(_Timed):
    at: AwareDatetime
    plus_minus_minutes: int = Field(
        default=0, ge=0, le=14 * 24 * 60, description="How far off the moment may be."
    )
    contingent: int | None = Field(
        default=None, ge=1, description="Omit for a report of the headquarters."
    )
    text: str = Field(min_length=1, max_length=20_000)

    _offset = field_validator("at")(_offset_of_the_zone)


class ForceEntryCreate(Input):
    organisation: str = Field(min_length=1, max_length=60)
    unit: str = Field(min_length=1, max_length=200)
    personnel: int = Field(ge=1, le=1_000_000)
    readiness_hours: int = Field(ge=0, le=24 * 365, description="To be on the ground.")
    valid_from: date
    valid_to: date | None = None
    source: str | None = Field(default=None, max_length=2000)

    _to = field_validator("valid_to")(_not_below("valid_from", "must not be before valid_from"))


# --- reading ------------------------------------------------------------------------------


class Moment(BaseModel):
    utc: datetime
    local: str
    time_zone: str
    plus_minus_minutes: int = 0


class ConsultationRead(BaseModel):
    id: int
    held: Moment
    format: str
    participants: list[str]
    summary: str


class TaskRead(BaseModel):
    id: int
    title: str
    place: str | None


class DeploymentEventRead(BaseModel):
    id: int
    kind: str
    at: Moment
    place: str | None
    task: int | None
    note: str | None


class ContingentRead(BaseModel):
    id: int
    state: str
    name: str
    personnel_low: int | None
    personnel_high: int | None
    equipment: dict[str, int]
    note: str | None
    # The last step reached, if any.
    status: str | None
    events: list[DeploymentEventRead]


class PledgeRead(BaseModel):
    id: int
    state: str
    personnel_low: int | None
    personnel_high: int | None
    equipment: dict[str, int]
    readiness_hours: int | None
    pledged: Moment
    note: str | None


class SituationReportRead(BaseModel):
    id: int
    contingent: int | None
    state: str | None
    at: Moment
    text: str


class WithdrawalPlanRead(BaseModel):
    planned_start: Moment
    planned_end: Moment
    text: str


class OperationRead(BaseModel):
    id: int
    crisis: int
    decision: int
    name: str
    mandate: str
    area: str
    commander: str | None
    planned_start: Moment | None
    planned_end: Moment | None
    tasks: list[TaskRead]
    withdrawal_plan: WithdrawalPlanRead | None
    pledges: list[PledgeRead]
    contingents: list[ContingentRead]
    situation_reports: list[SituationReportRead]


class Span(BaseModel):
    """A duration computed from two recorded moments, in minutes; None until both exist."""

    start: datetime | None
    end: datetime | None
    minutes: int | None
    # The sum of both ends' uncertainty: the true span lies within minutes ± this.
    plus_minus_minutes: int = 0


class Share(BaseModel):
    """How many of the eligible members did something, and which."""

    count: int
    of: int
    share: float | None
    states: list[str]


class TaskMeasure(BaseModel):
    task: int
    title: str
    taken_over_by: list[str]
    from_decision: Span


class Range(BaseModel):
    low: float | None
    high: float | None
    # States whose figure was not reported and is left out of the sums.
    unreported: list[str] = []


class Measures(BaseModel):
    """Everything is computed from the record; ranges where the record holds ranges."""

    crisis: int
    affected_state: str
    organisation: str
    request_to_decision: Span
    decision_to_first_arrival: Span
    decision_to_full_deployment: Span
    tasks: list[TaskMeasure]
    # From the first arrival to the first contingent starting to withdraw.
    mission: Span
    # From the first contingent starting to withdraw to the last one home.
    withdrawal: Span
    # From the first departure to the last contingent home.
    operation: Span
    eligible: list[str]
    supported: Share
    pledged: Share
    deployed: Share
    personnel_pledged: Range
    personnel_deployed: Range
    # Personnel deployed by the states that pledged, against what they pledged.
    pledges_fulfilled: Range
    # Minutes late (positive) or early (negative) against the operation's and the
    # withdrawal plan's planned moments.
    start_delay_minutes: int | None
    end_delay_minutes: int | None
    withdrawal_start_delay_minutes: int | None
    withdrawal_end_delay_minutes: int | None
    complete: bool


class ForceEntryRead(BaseModel):
    id: int
    state: str
    organisation: str
    unit: str
    personnel: int
    readiness_hours: int
    valid_from: date
    valid_to: date | None
    source: str | None


class Helper(BaseModel):
    """A state with a duty towards the state in crisis, and what it holds ready."""

    state: str
    agreement: str
    article: str
    duty: str
    # Set when its participation is frozen or suspended on the date.
    participation: str | None
    caveats: list[str]
    # From the force catalogue entries valid on the date that the asker may see.
    earliest_arrival_hours: int | None
    units: list[str]


class WhoCouldHelp(BaseModel):
    state: str
    on: date
    bound_to_assist: list[Helper]
    consult_only: list[Helper]
    participation_inactive: list[Helper]


class CrisisRead(BaseModel):
    id: int
    affected_state: str
    organisation: str
    kind: str
    summary: str
    started_on: date
    requests: list[RequestRead]
    decisions: list[DecisionRead]
    consultations: list[ConsultationRead]
    operation: OperationRead | None
