"""Scenario files: a past crisis written down step by step, each step citing its sources,
and replayed through the API exactly as the states and the secretariat would have entered
it, so that the measures come out of the same rules as for a live crisis.

The file (format ``indivisible-crisis-scenario/1``, see docs/crisis.md) is checked as a
whole before anything is sent: every cited source is defined, every contingent and task a
step names exists, and every step cites at least one source. Replaying needs one callable
that performs an API request as an actor (a state's liaison officer, by state code, or
``secretariat``); tests pass one over FastAPI's test client, the demo one over the node's
own app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from indivisible.registry.datafile import load_yaml

SCENARIOS = Path(__file__).parent / "scenarios"
FORMAT = "indivisible-crisis-scenario/1"
SECRETARIAT = "secretariat"

# (actor, method, path, JSON body) -> the answer's JSON; raises ReplayError when refused.
Call = Callable[[str, str, str, dict[str, Any]], dict[str, Any]]


class ScenarioError(ValueError):
    """The file is not a valid scenario; the message names the place and the rule."""


class ReplayError(RuntimeError):
    def __init__(self, number: int, step: str, status: int, answer: str) -> None:
        super().__init__(f"step {number} ({step}) refused with {status}: {answer}")
        self.status = status
        self.answer = answer


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://")


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[str] = Field(min_length=1)
    uncertain: str | None = None


class RequestStep(_Step):
    step: Literal["request"]
    actor: str = Field(alias="as", pattern=r"^[A-Z]{3}$")
    kind: str
    summary: str
    agreement: str
    article: str
    time_zone: str
    requested_at: datetime
    plus_minus_minutes: int = 0


class ConsultationStep(_Step):
    step: Literal["consultation"]
    actor: Literal["secretariat"] = Field(alias="as")
    time_zone: str
    held_at: datetime
    plus_minus_minutes: int = 0
    format: str
    participants: list[str]
    summary: str


class DecisionStep(_Step):
    step: Literal["decision"]
    actor: Literal["secretariat"] = Field(alias="as")
    body: str
    session_on: date
    question: str
    positions: dict[str, str]


class CloseStep(_Step):
    step: Literal["close"]
    actor: Literal["secretariat"] = Field(alias="as")
    time_zone: str
    decided_at: datetime
    plus_minus_minutes: int = 0


class TaskEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    place: str | None = None


class OperationStep(_Step):
    step: Literal["operation"]
    actor: Literal["secretariat"] = Field(alias="as")
    name: str
    mandate: str
    area: str
    commander: str | None = None
    time_zone: str
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    tasks: dict[str, TaskEntry] = Field(default_factory=dict)


class WithdrawalPlanStep(_Step):
    step: Literal["withdrawal-plan"]
    actor: Literal["secretariat"] = Field(alias="as")
    time_zone: str
    planned_start: datetime
    planned_end: datetime
    text: str


class PledgeStep(_Step):
    step: Literal["pledge"]
    actor: str = Field(alias="as", pattern=r"^[A-Z]{3}$")
    time_zone: str
    pledged_at: datetime
    plus_minus_minutes: int = 0
    personnel_low: int | None = None
    personnel_high: int | None = None
    equipment: dict[str, int] = Field(default_factory=dict)
    readiness_hours: int | None = None
    note: str | None = None


class ContingentStep(_Step):
    step: Literal["contingent"]
    key: str
    actor: str = Field(alias="as", pattern=r"^[A-Z]{3}$")
    name: str
    personnel_low: int | None = None
    personnel_high: int | None = None
    equipment: dict[str, int] = Field(default_factory=dict)


class DeploymentStep(_Step):
    step: Literal["departed", "arrived", "task-taken-over", "withdrawal-started", "home"]
    contingent: str
    time_zone: str
    at: datetime
    plus_minus_minutes: int = 0
    place: str | None = None
    task: str | None = None


class ReportStep(_Step):
    step: Literal["report"]
    actor: str = Field(alias="as")
    contingent: str | None = None
    time_zone: str
    at: datetime
    plus_minus_minutes: int = 0
    text: str


AnyStep = Annotated[
    RequestStep
    | ConsultationStep
    | DecisionStep
    | CloseStep
    | OperationStep
    | WithdrawalPlanStep
    | PledgeStep
    | ContingentStep
    | DeploymentStep
    | ReportStep,
    Field(discriminator="step"),
]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["indivisible-crisis-scenario/1"]
    code: str
    title: str
    organisation: str
    affected_state: str
    sources: dict[str, Source]
    steps: list[AnyStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        problems: list[str] = []
        contingents: dict[str, str] = {}
        tasks: set[str] = set()
        for number, step in enumerate(self.steps, start=1):
            problems += [
                f"steps.{number}.sources: no source {key} in sources"
                for key in step.sources
                if key not in self.sources
            ]
            if isinstance(step, ContingentStep):
                if step.key in contingents:
                    problems.append(f"steps.{number}.key: contingent {step.key} twice")
                contingents[step.key] = step.actor
            if isinstance(step, OperationStep):
                tasks |= set(step.tasks)
            named = getattr(step, "contingent", None)
            if named is not None and named not in contingents:
                problems.append(f"steps.{number}.contingent: {named} not formed before")
            if (
                isinstance(step, DeploymentStep)
                and step.task is not None
                and step.task not in tasks
            ):
                problems.append(f"steps.{number}.task: no task {step.task} in the operation")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def cite(self, step: _Step) -> str:
        """The step's sources (and its uncertainty) as text to keep with the record."""
        sources = "; ".join(
            f"{self.sources[k].title} <{self.sources[k].url}>" for k in step.sources
        )
        uncertain = f"Uncertain: {step.uncertain} " if step.uncertain else ""
        return f"{uncertain}Sources: {sources}"


def load(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path.name}: {exc}") from exc
    # The registry's loader: safe types, a repeated key refused rather than silently dropped
    # (a step written twice), and impossible dates or nesting refused where they are written.
    raw, problem = load_yaml(text, path.name)
    if problem is not None:
        raise ScenarioError(str(problem))
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise ScenarioError(f"{path.name}: {details}") from exc


def bundled(code: str) -> Scenario:
    return load(SCENARIOS / f"{code}.yaml")


def actors(scenario: Scenario) -> set[str]:
    """Who the replay acts as: state codes (liaison officers) and ``secretariat``."""
    found = {scenario.affected_state}
    for step in scenario.steps:
        actor = getattr(step, "actor", None)
        if isinstance(actor, str):
            found.add(actor)
        if isinstance(step, DecisionStep):
            found |= set(step.positions)
    return found


def _with(text: str | None, citation: str, limit: int) -> str:
    joined = f"{text}\n\n{citation}" if text else citation
    return joined[:limit]


def replay(scenario: Scenario, call: Call) -> int:
    """Send every step through the API in order; answers the crisis id."""
    crisis_id = decision_id = operation_id = 0
    contingents: dict[str, int] = {}
    owner: dict[str, str] = {}
    tasks: dict[str, int] = {}
    for number, step in enumerate(scenario.steps, start=1):
        try:
            crisis_id, decision_id, operation_id = _send(
                scenario,
                step,
                call,
                crisis_id,
                decision_id,
                operation_id,
                contingents,
                owner,
                tasks,
            )
        except ReplayError as refused:
            raise ReplayError(number, step.step, refused.status, refused.answer) from refused
    return crisis_id


def _send(
    scenario: Scenario,
    step: AnyStep,
    call: Call,
    crisis_id: int,
    decision_id: int,
    operation_id: int,
    contingents: dict[str, int],
    owner: dict[str, str],
    tasks: dict[str, int],
) -> tuple[int, int, int]:
    """One step; answers the (crisis, decision, operation) ids as they stand after it."""
    cited = scenario.cite(step)
    if isinstance(step, RequestStep):
        answer = call(
            step.actor,
            "POST",
            "/api/v1/crisis/requests",
            {
                "organisation": scenario.organisation,
                "kind": step.kind,
                "summary": step.summary,
                "agreement": step.agreement,
                "article": step.article,
                "time_zone": step.time_zone,
                "requested_at": step.requested_at.isoformat(),
                "plus_minus_minutes": step.plus_minus_minutes,
                "text": _with(None, cited, 20_000),
            },
        )
        crisis_id = answer["id"]
    elif isinstance(step, ConsultationStep):
        call(
            SECRETARIAT,
            "POST",
            f"/api/v1/crisis/crises/{crisis_id}/consultations",
            {
                "time_zone": step.time_zone,
                "held_at": step.held_at.isoformat(),
                "plus_minus_minutes": step.plus_minus_minutes,
                "format": step.format,
                "participants": step.participants,
                "summary": _with(step.summary, cited, 20_000),
            },
        )
    elif isinstance(step, DecisionStep):
        answer = call(
            SECRETARIAT,
            "POST",
            f"/api/v1/crisis/crises/{crisis_id}/decisions",
            {
                "body": step.body,
                "session_on": step.session_on.isoformat(),
                "question": _with(step.question, cited, 5000),
            },
        )
        decision_id = answer["id"]
        for state, position in sorted(step.positions.items()):
            call(
                state,
                "POST",
                f"/api/v1/crisis/decisions/{decision_id}/positions",
                {"position": position},
            )
    elif isinstance(step, CloseStep):
        call(
            SECRETARIAT,
            "POST",
            f"/api/v1/crisis/decisions/{decision_id}/close",
            {
                "time_zone": step.time_zone,
                "decided_at": step.decided_at.isoformat(),
                "plus_minus_minutes": step.plus_minus_minutes,
            },
        )
    elif isinstance(step, OperationStep):
        names = list(step.tasks)
        answer = call(
            SECRETARIAT,
            "POST",
            f"/api/v1/crisis/crises/{crisis_id}/operation",
            {
                "decision": decision_id,
                "name": step.name,
                "mandate": _with(step.mandate, cited, 20_000),
                "area": step.area,
                "commander": step.commander,
                "time_zone": step.time_zone,
                "planned_start": step.planned_start.isoformat() if step.planned_start else None,
                "planned_end": step.planned_end.isoformat() if step.planned_end else None,
                "tasks": [step.tasks[n].model_dump() for n in names],
            },
        )
        operation_id = answer["id"]
        tasks.update({n: t["id"] for n, t in zip(names, answer["tasks"], strict=True)})
    elif isinstance(step, WithdrawalPlanStep):
        call(
            SECRETARIAT,
            "PUT",
            f"/api/v1/crisis/operations/{operation_id}/withdrawal-plan",
            {
                "time_zone": step.time_zone,
                "planned_start": step.planned_start.isoformat(),
                "planned_end": step.planned_end.isoformat(),
                "text": _with(step.text, cited, 20_000),
            },
        )
    elif isinstance(step, PledgeStep):
        call(
            step.actor,
            "POST",
            f"/api/v1/crisis/operations/{operation_id}/pledges",
            {
                "time_zone": step.time_zone,
                "pledged_at": step.pledged_at.isoformat(),
                "plus_minus_minutes": step.plus_minus_minutes,
                "personnel_low": step.personnel_low,
                "personnel_high": step.personnel_high,
                "equipment": step.equipment,
                "readiness_hours": step.readiness_hours,
                "note": _with(step.note, cited, 5000),
            },
        )
    elif isinstance(step, ContingentStep):
        answer = call(
            step.actor,
            "POST",
            f"/api/v1/crisis/operations/{operation_id}/contingents",
            {
                "name": step.name,
                "personnel_low": step.personnel_low,
                "personnel_high": step.personnel_high,
                "equipment": step.equipment,
                "note": _with(None, cited, 5000),
            },
        )
        contingents[step.key] = next(
            c["id"]
            for c in answer["contingents"]
            if c["state"] == step.actor and c["name"] == step.name
        )
        owner[step.key] = step.actor
    elif isinstance(step, DeploymentStep):
        call(
            owner[step.contingent],
            "POST",
            f"/api/v1/crisis/contingents/{contingents[step.contingent]}/steps",
            {
                "kind": step.step,
                "time_zone": step.time_zone,
                "at": step.at.isoformat(),
                "plus_minus_minutes": step.plus_minus_minutes,
                "place": step.place,
                "task": tasks[step.task] if step.task else None,
                "note": _with(None, cited, 5000),
            },
        )
    elif isinstance(step, ReportStep):
        call(
            owner[step.contingent] if step.contingent else SECRETARIAT,
            "POST",
            f"/api/v1/crisis/operations/{operation_id}/reports",
            {
                "time_zone": step.time_zone,
                "at": step.at.isoformat(),
                "plus_minus_minutes": step.plus_minus_minutes,
                "contingent": contingents[step.contingent] if step.contingent else None,
                "text": _with(step.text, cited, 20_000),
            },
        )
    return crisis_id, decision_id, operation_id
