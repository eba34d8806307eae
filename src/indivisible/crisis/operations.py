"""Crisis response after the decision: consultations, the operation with its tasks and
withdrawal plan (the secretariat), pledges and contingents (the contributing states), each
contingent's deployment steps in their one possible order, situation reports, and the
measures computed from all of it.

Every step checks its role and state, then its order, and says which rule it broke; it
flushes and records itself in the audit trail, and the members are told of it through the
event outbox, in the same transaction as the change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from indivisible.audit.service import record_change
from indivisible.auth.principal import Actor, Role
from indivisible.crisis import measures
from indivisible.crisis.models import (
    AssistanceRequest,
    Consultation,
    Contingent,
    Crisis,
    Decision,
    DecisionPosition,
    DeploymentEvent,
    ForceEntry,
    Operation,
    OperationTask,
    Pledge,
    SituationReport,
    WithdrawalPlan,
)
from indivisible.crisis.rules import Position, Result
from indivisible.crisis.schemas import (
    ConsultationCreate,
    ContingentCreate,
    ContingentRead,
    CrisisRead,
    DeploymentEventCreate,
    DeploymentEventRead,
    ForceEntryCreate,
    ForceEntryRead,
    Helper,
    Measures,
    Moment,
    OperationCreate,
    OperationRead,
    PledgeCreate,
    PledgeRead,
    SituationReportCreate,
    SituationReportRead,
    Step,
    TaskCreate,
    TaskRead,
    WhoCouldHelp,
    WithdrawalPlanCreate,
    WithdrawalPlanRead,
)
from indivisible.crisis.service import (
    active_members,
    announce,
    attached_states,
    get_crisis,
    read_models,
    secretariat_of,
    told,
)
from indivisible.db import as_utc
from indivisible.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from indivisible.i18n import _
from indivisible.registry import repository as registry_queries
from indivisible.registry import service as registry
from indivisible.registry.schemas import Duty
from indivisible.registry.service import ATTACHED

# What may follow each step of a contingent (None: nothing recorded yet).
NEXT: dict[Step | None, tuple[Step, ...]] = {
    None: (Step.departed,),
    Step.departed: (Step.arrived,),
    Step.arrived: (Step.task_taken_over, Step.withdrawal_started),
    Step.task_taken_over: (Step.task_taken_over, Step.withdrawal_started),
    Step.withdrawal_started: (Step.home,),
    Step.home: (),
}
# How far ahead of the clock a moment may be recorded (time zones, clock skew): steps are
# reported once they happened.
AHEAD = timedelta(days=1)


def moment(at: datetime, zone: str, plus_minus_minutes: int = 0) -> Moment:
    utc = as_utc(at) or at
    return Moment(
        utc=utc,
        local=utc.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes"),
        time_zone=zone,
        plus_minus_minutes=plus_minus_minutes or 0,
    )


def _not_ahead(at: datetime, field: str) -> None:
    if at > datetime.now(UTC) + AHEAD:
        raise InvalidInput(
            _("A step is recorded once it happened, not ahead."),
            code="in_the_future",
            field=field,
        )


def _not_before_decision(session: Session, operation: Operation, at: datetime) -> None:
    decision = session.get(Decision, operation.decision_id)
    decided = as_utc(decision.decided_at) if decision is not None else None
    if decided is not None and at < decided:
        raise InvalidInput(
            _("No step of the operation can come before its decision."),
            code="before_decision",
            field="at",
        )


def _contingent_state_liaison(actor: Actor, contingent: Contingent) -> None:
    """Only the contributing state's liaison officers report on its contingent."""
    if actor.role is not Role.liaison or actor.state_code != contingent.state_code:
        raise PermissionDenied(
            _("Only the liaison officers of {state} report the steps of its contingents."),
            code="contributor_required",
            params={"state": contingent.state_code},
        )


def _first_request(session: Session, crisis: Crisis) -> AssistanceRequest | None:
    return session.scalars(
        select(AssistanceRequest)
        .where(AssistanceRequest.crisis_id == crisis.id)
        .order_by(AssistanceRequest.requested_at)
    ).first()


# --- consultations -----------------------------------------------------------------------


def record_consultation(
    session: Session, actor: Actor, crisis_id: int, data: ConsultationCreate
) -> Consultation:
    crisis = get_crisis(session, actor, crisis_id)
    secretariat_of(actor, crisis.organisation_code)
    held = data.held_at.astimezone(UTC)
    request = _first_request(session, crisis)
    if request is not None and held < (as_utc(request.requested_at) or held):
        raise InvalidInput(
            _("Consultations on a request cannot come before it."),
            code="before_request",
            field="held_at",
        )
    _not_ahead(held, "held_at")
    may_take_part = told(session, crisis)
    strangers = sorted(set(data.participants) - may_take_part)
    if strangers:
        raise InvalidInput(
            _("Not members of {organisation} nor the affected state: {states}."),
            code="not_a_member",
            field="participants",
            params={"organisation": crisis.organisation_code, "states": ", ".join(strangers)},
        )
    row = Consultation(
        crisis_id=crisis.id,
        held_at=held,
        time_zone=data.time_zone,
        plus_minus_minutes=data.plus_minus_minutes,
        format=data.format,
        participants=sorted(set(data.participants)),
        summary=data.summary,
        recorded_by=actor.principal_id,
    )
    session.add(row)
    session.flush()
    record_change(
        session,
        actor,
        action="consultation",
        subject_type="crisis",
        subject_key=str(crisis.id),
        before=None,
        after={"held_at": held.isoformat(), "participants": row.participants},
    )
    announce(session, crisis, "crisis-session", actor)
    return row


# --- the operation -----------------------------------------------------------------------


def operation_of(session: Session, actor: Actor, operation_id: int) -> tuple[Operation, Crisis]:
    operation = session.get(Operation, operation_id)
    if operation is not None:
        try:
            return operation, get_crisis(session, actor, operation.crisis_id)
        except NotFound:
            pass
    raise NotFound(_("No operation {id}."), code="unknown_operation", params={"id": operation_id})


def _add_tasks(session: Session, operation: Operation, tasks: list[TaskCreate]) -> None:
    session.add_all(
        OperationTask(operation_id=operation.id, title=t.title, place=t.place) for t in tasks
    )


def set_up_operation(
    session: Session, actor: Actor, crisis_id: int, data: OperationCreate
) -> Operation:
    """The secretariat sets up the operation an adopted decision calls for."""
    crisis = get_crisis(session, actor, crisis_id)
    secretariat_of(actor, crisis.organisation_code)
    decision = session.get(Decision, data.decision)
    if decision is None or decision.crisis_id != crisis.id:
        raise InvalidInput(
            _("Decision {id} is not one on this crisis."),
            code="unknown_decision",
            field="decision",
            params={"id": data.decision},
        )
    if decision.closed_at is None or decision.result != Result.adopted.value:
        raise Conflict(
            _("Only an adopted decision sets up an operation."),
            code="decision_not_adopted",
            field="decision",
        )
    decided = as_utc(decision.decided_at)
    start = data.planned_start.astimezone(UTC) if data.planned_start else None
    if decided is not None and start is not None and start < decided:
        raise InvalidInput(
            _("An operation cannot be planned to start before its decision."),
            code="before_decision",
            field="planned_start",
        )
    if session.scalar(select(Operation.id).where(Operation.crisis_id == crisis.id)) is not None:
        raise Conflict(
            _("This crisis has its operation already."), code="operation_exists", field="decision"
        )
    operation = Operation(
        crisis_id=crisis.id,
        decision_id=decision.id,
        name=data.name,
        mandate=data.mandate,
        area=data.area,
        commander=data.commander,
        time_zone=data.time_zone,
        planned_start=start,
        planned_end=data.planned_end.astimezone(UTC) if data.planned_end else None,
        created_by=actor.principal_id,
    )
    session.add(operation)
    session.flush()
    _add_tasks(session, operation, data.tasks)
    session.flush()
    record_change(
        session,
        actor,
        action="operation",
        subject_type="crisis",
        subject_key=str(crisis.id),
        before=None,
        after={"operation": operation.id, "decision": decision.id, "name": data.name},
    )
    announce(session, crisis, "crisis-deployment", actor)
    return operation


def add_task(session: Session, actor: Actor, operation_id: int, data: TaskCreate) -> Operation:
    operation, crisis = operation_of(session, actor, operation_id)
    secretariat_of(actor, crisis.organisation_code)
    _add_tasks(session, operation, [data])
    session.flush()
    record_change(
        session,
        actor,
        action="task",
        subject_type="crisis_operation",
        subject_key=str(operation.id),
        before=None,
        after={"title": data.title, "place": data.place},
    )
    return operation


def plan_withdrawal(
    session: Session, actor: Actor, operation_id: int, data: WithdrawalPlanCreate
) -> Operation:
    """The secretariat records (or revises) the plan of withdrawal."""
    operation, crisis = operation_of(session, actor, operation_id)
    secretariat_of(actor, crisis.organisation_code)
    start = data.planned_start.astimezone(UTC)
    decision = session.get(Decision, operation.decision_id)
    earliest = as_utc(operation.planned_start) or (
        as_utc(decision.decided_at) if decision is not None else None
    )
    if earliest is not None and start < earliest:
        raise InvalidInput(
            _("A withdrawal cannot be planned before the operation starts."),
            code="before_operation",
            field="planned_start",
        )
    plan = session.get(WithdrawalPlan, operation.id)
    before = None
    if plan is None:
        plan = WithdrawalPlan(operation_id=operation.id)
        session.add(plan)
    else:
        before = {"planned_start": (as_utc(plan.planned_start) or start).isoformat()}
    plan.planned_start = start
    plan.planned_end = data.planned_end.astimezone(UTC)
    plan.time_zone = data.time_zone
    plan.text = data.text
    plan.recorded_by = actor.principal_id
    session.flush()
    record_change(
        session,
        actor,
        action="withdrawal-plan",
        subject_type="crisis_operation",
        subject_key=str(operation.id),
        before=before,
        after={"planned_start": start.isoformat(), "planned_end": plan.planned_end.isoformat()},
    )
    announce(session, crisis, "crisis-deployment", actor)
    return operation


# --- force generation --------------------------------------------------------------------


def contributors(session: Session, operation: Operation, crisis: Crisis) -> set[str]:
    """Who may contribute: members active on the decision's date, other than the state in
    crisis (which receives the operation)."""
    decision = session.get(Decision, operation.decision_id)
    day = decision.session_on if decision is not None else crisis.started_on
    return active_members(session, crisis.organisation_code, day) - {crisis.affected_state}


def _contributing_liaison(
    session: Session, actor: Actor, operation: Operation, crisis: Crisis, field: str
) -> str:
    state = actor.state_code
    if actor.role is not Role.liaison or state is None:
        raise PermissionDenied(
            _("Only a state's liaison officers report its contribution."), code="role_required"
        )
    if state not in contributors(session, operation, crisis):
        raise InvalidInput(
            _("{state} is not a member of {organisation} able to contribute to this operation."),
            code="not_a_contributor",
            field=field,
            params={"state": state, "organisation": crisis.organisation_code},
        )
    return state


def pledge(session: Session, actor: Actor, operation_id: int, data: PledgeCreate) -> Pledge:
    operation, crisis = operation_of(session, actor, operation_id)
    state = _contributing_liaison(session, actor, operation, crisis, "personnel_low")
    if session.scalar(
        select(Pledge.id).where(Pledge.operation_id == operation.id, Pledge.state_code == state)
    ):
        raise Conflict(
            _("{state} has pledged to this operation already."),
            code="pledged_already",
            field="personnel_low",
            params={"state": state},
        )
    pledged = data.pledged_at.astimezone(UTC)
    _not_ahead(pledged, "pledged_at")
    row = Pledge(
        operation_id=operation.id,
        state_code=state,
        personnel_low=data.personnel_low,
        personnel_high=data.personnel_high,
        equipment=dict(data.equipment),
        readiness_hours=data.readiness_hours,
        pledged_at=pledged,
        time_zone=data.time_zone,
        plus_minus_minutes=data.plus_minus_minutes,
        note=data.note,
        recorded_by=actor.principal_id,
    )
    session.add(row)
    session.flush()
    record_change(
        session,
        actor,
        action="pledge",
        subject_type="crisis_operation",
        subject_key=str(operation.id),
        before=None,
        after={"state": state, "personnel": [data.personnel_low, data.personnel_high]},
    )
    announce(session, crisis, "crisis-deployment", actor)
    return row


def form_contingent(
    session: Session, actor: Actor, operation_id: int, data: ContingentCreate
) -> Contingent:
    operation, crisis = operation_of(session, actor, operation_id)
    state = _contributing_liaison(session, actor, operation, crisis, "name")
    if session.scalar(
        select(Contingent.id).where(
            Contingent.operation_id == operation.id,
            Contingent.state_code == state,
            Contingent.name == data.name,
        )
    ):
        raise Conflict(
            _("{state} has a contingent named {name} already."),
            code="contingent_exists",
            field="name",
            params={"state": state, "name": data.name},
        )
    row = Contingent(
        operation_id=operation.id,
        state_code=state,
        name=data.name,
        personnel_low=data.personnel_low,
        personnel_high=data.personnel_high,
        equipment=dict(data.equipment),
        note=data.note,
        recorded_by=actor.principal_id,
    )
    session.add(row)
    session.flush()
    record_change(
        session,
        actor,
        action="contingent",
        subject_type="crisis_operation",
        subject_key=str(operation.id),
        before=None,
        after={"contingent": row.id, "state": state, "name": data.name},
    )
    return row


def contingent_of(
    session: Session, actor: Actor, contingent_id: int
) -> tuple[Contingent, Operation, Crisis]:
    contingent = session.get(Contingent, contingent_id)
    if contingent is not None:
        try:
            operation, crisis = operation_of(session, actor, contingent.operation_id)
            return contingent, operation, crisis
        except NotFound:
            pass
    raise NotFound(
        _("No contingent {id}."), code="unknown_contingent", params={"id": contingent_id}
    )


def _steps(session: Session, contingent_id: int) -> list[DeploymentEvent]:
    return list(
        session.scalars(
            select(DeploymentEvent)
            .where(DeploymentEvent.contingent_id == contingent_id)
            .order_by(DeploymentEvent.at, DeploymentEvent.id)
        )
    )


def _out_of_order(name: str, last: Step | None, kind: Step) -> Conflict:
    """The error for a step that cannot follow the last one, in the domain's words."""
    params: dict[str, str] = {}
    if kind is Step.arrived and last is None:
        text = _("{name} has not departed, so it cannot have arrived.")
    elif kind in (Step.withdrawal_started, Step.task_taken_over) and last in (
        None,
        Step.departed,
    ):
        text = _("{name} never arrived, so it cannot take over tasks or withdraw.")
    elif kind is Step.home and last is not Step.withdrawal_started:
        text = _("{name} has not started to withdraw, so it cannot be home.")
    else:
        text, params = (
            _("{name} cannot be {step} after {last}."),
            {"step": kind.value, "last": last.value if last else "-"},
        )
    return Conflict(text, code="out_of_order", field="kind", params={"name": name, **params})


def record_step(
    session: Session, actor: Actor, contingent_id: int, data: DeploymentEventCreate
) -> DeploymentEvent:
    """The contributing state's liaison officer reports one step of its contingent."""
    contingent, operation, crisis = contingent_of(session, actor, contingent_id)
    _contingent_state_liaison(actor, contingent)
    steps = _steps(session, contingent.id)
    last = Step(steps[-1].kind) if steps else None
    if data.kind not in NEXT[last]:
        raise _out_of_order(contingent.name, last, data.kind)
    at = data.at.astimezone(UTC)
    if steps and at < (as_utc(steps[-1].at) or at):
        raise InvalidInput(
            _("{name} was {last} at {when}; this step cannot come before it."),
            code="before_previous_step",
            field="at",
            params={
                "name": contingent.name,
                "last": steps[-1].kind,
                "when": (as_utc(steps[-1].at) or at).isoformat(timespec="minutes"),
            },
        )
    _not_before_decision(session, operation, at)
    _not_ahead(at, "at")
    if data.task is not None:
        task = session.get(OperationTask, data.task)
        if task is None or task.operation_id != operation.id:
            raise InvalidInput(
                _("Task {id} is not one of this operation."),
                code="unknown_task",
                field="task",
                params={"id": data.task},
            )
        if any(s.task_id == task.id for s in steps):
            raise Conflict(
                _("{name} has taken over this task already."),
                code="task_taken_already",
                field="task",
                params={"name": contingent.name},
            )
    row = DeploymentEvent(
        contingent_id=contingent.id,
        kind=data.kind.value,
        at=at,
        time_zone=data.time_zone,
        place=data.place,
        plus_minus_minutes=data.plus_minus_minutes,
        task_id=data.task,
        note=data.note,
        recorded_at=datetime.now(UTC),
        recorded_by=actor.principal_id,
    )
    session.add(row)
    session.flush()
    record_change(
        session,
        actor,
        action=data.kind.value,
        subject_type="crisis_contingent",
        subject_key=str(contingent.id),
        before={"step": last.value} if last else None,
        after={"step": data.kind.value, "at": at.isoformat(), "task": data.task},
    )
    announce(session, crisis, "crisis-deployment", actor)
    return row


def report_situation(
    session: Session, actor: Actor, operation_id: int, data: SituationReportCreate
) -> SituationReport:
    """A contributing state reports on its contingent; the secretariat, with no contingent,
    reports for the headquarters."""
    operation, crisis = operation_of(session, actor, operation_id)
    if data.contingent is None:
        secretariat_of(actor, crisis.organisation_code)
    else:
        contingent = session.get(Contingent, data.contingent)
        if contingent is None or contingent.operation_id != operation.id:
            raise InvalidInput(
                _("Contingent {id} is not one of this operation."),
                code="unknown_contingent",
                field="contingent",
                params={"id": data.contingent},
            )
        _contingent_state_liaison(actor, contingent)
    at = data.at.astimezone(UTC)
    _not_before_decision(session, operation, at)
    _not_ahead(at, "at")
    row = SituationReport(
        operation_id=operation.id,
        contingent_id=data.contingent,
        at=at,
        time_zone=data.time_zone,
        plus_minus_minutes=data.plus_minus_minutes,
        text=data.text,
        recorded_by=actor.principal_id,
    )
    session.add(row)
    session.flush()
    record_change(
        session,
        actor,
        action="situation-report",
        subject_type="crisis_operation",
        subject_key=str(operation.id),
        before=None,
        after={"report": row.id, "contingent": data.contingent, "at": at.isoformat()},
    )
    return row


# --- reading -----------------------------------------------------------------------------


def operation_for_crisis(session: Session, crisis: Crisis) -> Operation | None:
    return session.scalars(select(Operation).where(Operation.crisis_id == crisis.id)).first()


def operation_read(session: Session, operation: Operation) -> OperationRead:
    return operation_reads(session, [operation])[operation.id]


def operation_reads(session: Session, operations: Sequence[Operation]) -> dict[int, OperationRead]:
    """Read models of operations, by id: each kind of row read with one statement for all of
    them, so that a list of crises with operations costs what a list of one does."""
    if not operations:
        return {}
    ids = [o.id for o in operations]
    tasks: dict[int, list[OperationTask]] = defaultdict(list)
    for task in session.scalars(
        select(OperationTask).where(OperationTask.operation_id.in_(ids)).order_by(OperationTask.id)
    ):
        tasks[task.operation_id].append(task)
    plans = {
        plan.operation_id: plan
        for plan in session.scalars(
            select(WithdrawalPlan).where(WithdrawalPlan.operation_id.in_(ids))
        )
    }
    pledges: dict[int, list[Pledge]] = defaultdict(list)
    for pledge in session.scalars(
        select(Pledge).where(Pledge.operation_id.in_(ids)).order_by(Pledge.state_code)
    ):
        pledges[pledge.operation_id].append(pledge)
    contingents: dict[int, list[Contingent]] = defaultdict(list)
    for contingent in session.scalars(
        select(Contingent)
        .where(Contingent.operation_id.in_(ids))
        .order_by(Contingent.state_code, Contingent.name)
    ):
        contingents[contingent.operation_id].append(contingent)
    steps: dict[int, list[DeploymentEvent]] = {
        c.id: [] for found in contingents.values() for c in found
    }
    if steps:
        for step in session.scalars(
            select(DeploymentEvent)
            .where(DeploymentEvent.contingent_id.in_(steps))
            .order_by(DeploymentEvent.at, DeploymentEvent.id)
        ):
            steps[step.contingent_id].append(step)
    reports: dict[int, list[SituationReport]] = defaultdict(list)
    for report in session.scalars(
        select(SituationReport)
        .where(SituationReport.operation_id.in_(ids))
        .order_by(SituationReport.at, SituationReport.id)
    ):
        reports[report.operation_id].append(report)
    return {
        o.id: _operation_read(
            o, tasks[o.id], plans.get(o.id), pledges[o.id], contingents[o.id], steps, reports[o.id]
        )
        for o in operations
    }


def _operation_read(
    operation: Operation,
    tasks: list[OperationTask],
    plan: WithdrawalPlan | None,
    pledges: list[Pledge],
    contingents: list[Contingent],
    steps: dict[int, list[DeploymentEvent]],
    reports: list[SituationReport],
) -> OperationRead:
    state_of = {c.id: c.state_code for c in contingents}
    return OperationRead(
        id=operation.id,
        crisis=operation.crisis_id,
        decision=operation.decision_id,
        name=operation.name,
        mandate=operation.mandate,
        area=operation.area,
        commander=operation.commander,
        planned_start=moment(operation.planned_start, operation.time_zone)
        if operation.planned_start
        else None,
        planned_end=moment(operation.planned_end, operation.time_zone)
        if operation.planned_end
        else None,
        tasks=[TaskRead(id=t.id, title=t.title, place=t.place) for t in tasks],
        withdrawal_plan=WithdrawalPlanRead(
            planned_start=moment(plan.planned_start, plan.time_zone),
            planned_end=moment(plan.planned_end, plan.time_zone),
            text=plan.text,
        )
        if plan
        else None,
        pledges=[
            PledgeRead(
                id=p.id,
                state=p.state_code,
                personnel_low=p.personnel_low,
                personnel_high=p.personnel_high,
                equipment=dict(p.equipment),
                readiness_hours=p.readiness_hours,
                pledged=moment(p.pledged_at, p.time_zone, p.plus_minus_minutes),
                note=p.note,
            )
            for p in pledges
        ],
        contingents=[
            ContingentRead(
                id=c.id,
                state=c.state_code,
                name=c.name,
                personnel_low=c.personnel_low,
                personnel_high=c.personnel_high,
                equipment=dict(c.equipment),
                note=c.note,
                status=steps[c.id][-1].kind if steps[c.id] else None,
                events=[
                    DeploymentEventRead(
                        id=s.id,
                        kind=s.kind,
                        at=moment(s.at, s.time_zone, s.plus_minus_minutes),
                        place=s.place,
                        task=s.task_id,
                        note=s.note,
                    )
                    for s in steps[c.id]
                ],
            )
            for c in contingents
        ],
        situation_reports=[
            SituationReportRead(
                id=r.id,
                contingent=r.contingent_id,
                state=state_of.get(r.contingent_id) if r.contingent_id else None,
                at=moment(r.at, r.time_zone, r.plus_minus_minutes),
                text=r.text,
            )
            for r in reports
        ],
    )


def crisis_measures(session: Session, crisis: Crisis) -> Measures:
    """The measures of one crisis, from what is recorded so far."""
    request = _first_request(session, crisis)
    decision = session.scalars(
        select(Decision)
        .where(Decision.crisis_id == crisis.id, Decision.result == Result.adopted.value)
        .order_by(Decision.decided_at)
    ).first()
    operation = operation_for_crisis(session, crisis)
    day = decision.session_on if decision is not None else crisis.started_on
    eligible = frozenset(active_members(session, crisis.organisation_code, day)) - {
        crisis.affected_state
    }
    in_favour = (
        frozenset(
            session.scalars(
                select(DecisionPosition.state_code).where(
                    DecisionPosition.decision_id == decision.id,
                    DecisionPosition.position == Position.in_favour.value,
                )
            )
        )
        if decision is not None
        else frozenset()
    )
    record = measures.CrisisRecord(
        crisis=crisis.id,
        affected_state=crisis.affected_state,
        organisation=crisis.organisation_code,
        requested_at=as_utc(request.requested_at) if request else None,
        requested_plus_minus=request.plus_minus_minutes or 0 if request else 0,
        decided_at=as_utc(decision.decided_at) if decision else None,
        decided_plus_minus=decision.decided_plus_minus_minutes or 0 if decision else 0,
        eligible=eligible,
        in_favour=in_favour,
    )
    if operation is None:
        return measures.compute(record)
    read = operation_read(session, operation)
    plan = read.withdrawal_plan
    record = measures.CrisisRecord(
        **{
            **record.__dict__,
            "tasks": {t.id: t.title for t in read.tasks},
            "pledges": [
                measures.PledgeRecord(p.state, p.personnel_low, p.personnel_high)
                for p in read.pledges
            ],
            "contingents": [
                measures.ContingentRecord(
                    c.state,
                    c.personnel_low,
                    c.personnel_high,
                    tuple(
                        measures.StepRecord(Step(e.kind), e.at.utc, e.task, e.at.plus_minus_minutes)
                        for e in c.events
                    ),
                )
                for c in read.contingents
            ],
            "planned_start": read.planned_start.utc if read.planned_start else None,
            "planned_end": read.planned_end.utc if read.planned_end else None,
            "withdrawal_planned_start": plan.planned_start.utc if plan else None,
            "withdrawal_planned_end": plan.planned_end.utc if plan else None,
        }
    )
    return measures.compute(record)


# --- force catalogue and who could help ---------------------------------------------------


def record_force(session: Session, actor: Actor, data: ForceEntryCreate) -> ForceEntry:
    """A state's liaison officer records a unit it holds ready for an organisation."""
    state = actor.state_code
    if actor.role is not Role.liaison or state is None:
        raise PermissionDenied(
            _("Only a state's liaison officers report its contribution."), code="role_required"
        )
    registry.get_organisation(session, data.organisation, field="organisation")
    if state not in attached_states(session, data.organisation, data.valid_from):
        raise InvalidInput(
            _("{state} is not a member of {organisation} on {date}."),
            code="not_a_member",
            field="organisation",
            params={
                "state": state,
                "organisation": data.organisation,
                "date": data.valid_from.isoformat(),
            },
        )
    row = ForceEntry(
        state_code=state,
        organisation_code=data.organisation,
        unit=data.unit,
        personnel=data.personnel,
        readiness_hours=data.readiness_hours,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        source=data.source,
        recorded_by=actor.principal_id,
    )
    session.add(row)
    session.flush()
    record_change(
        session,
        actor,
        action="force",
        subject_type="crisis_force_entry",
        subject_key=str(row.id),
        before=None,
        after={"unit": data.unit, "readiness_hours": data.readiness_hours},
    )
    return row


def force_read(row: ForceEntry) -> ForceEntryRead:
    return ForceEntryRead(
        id=row.id,
        state=row.state_code,
        organisation=row.organisation_code,
        unit=row.unit,
        personnel=row.personnel,
        readiness_hours=row.readiness_hours,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        source=row.source,
    )


def _force_readers(session: Session, actor: Actor, on: date) -> set[str]:
    """Organisations whose force catalogue the actor may read on a date: those its state is
    attached to, the one whose secretariat it serves, or all for administrators."""
    if actor.role is Role.admin:
        return set(session.scalars(select(ForceEntry.organisation_code).distinct()))
    if actor.role is Role.secretariat and actor.organisation_code is not None:
        return {actor.organisation_code}
    if actor.state_code is None or actor.role not in (Role.liaison, Role.analyst):
        return set()
    attached = [s.value for s in ATTACHED]
    memberships = registry_queries.memberships_on(on, state=actor.state_code, statuses=attached)
    return {m.organisation_code for m in session.scalars(memberships)}


def who_could_help(session: Session, actor: Actor, state: str, on: date) -> WhoCouldHelp:
    """For a hypothetical crisis in ``state`` on ``on``: who is bound to assist under which
    article, who must only consult, and the earliest plausible arrival of each from the
    force catalogue entries the asker may read."""
    answer = registry.bound_to_assist(session, state, on)
    readable = _force_readers(session, actor, on)
    entries = session.scalars(
        select(ForceEntry).where(
            ForceEntry.organisation_code.in_(readable),
            ForceEntry.valid_from <= on,
            (ForceEntry.valid_to.is_(None)) | (ForceEntry.valid_to >= on),
        )
    ).all()
    by_state: dict[str, list[ForceEntry]] = {}
    for entry in entries:
        by_state.setdefault(entry.state_code, []).append(entry)

    def helper(duty: Duty) -> Helper:
        ready = sorted(by_state.get(duty.state, []), key=lambda e: e.readiness_hours)
        return Helper(
            state=duty.state,
            agreement=duty.agreement,
            article=duty.article,
            duty=duty.kind,
            participation=duty.participation,
            caveats=[c.code for c in duty.caveats],
            earliest_arrival_hours=ready[0].readiness_hours if ready else None,
            units=[f"{e.unit} ({e.personnel}, {e.readiness_hours} h)" for e in ready],
        )

    return WhoCouldHelp(
        state=answer.state,
        on=answer.on,
        bound_to_assist=[helper(d) for d in answer.bound_to_assist],
        consult_only=[helper(d) for d in answer.only_consult],
        participation_inactive=[helper(d) for d in answer.participation_inactive],
    )


def read_model(session: Session, crisis: Crisis) -> CrisisRead:
    """One crisis as readers see it: the batched read of a list of one, so that a crisis reads
    the same alone and in a list."""
    return read_models(session, [crisis])[0]
