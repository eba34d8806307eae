"""Crisis response, first steps of the life cycle: the affected state requests assistance
(which opens the crisis), the organisation's secretariat opens a decision of one of its
bodies, members state their positions, and closing the decision fixes the result the
positions give. Each step is refused, with the rule named, when its role, its state or its
order is wrong."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from indivisible.audit.service import record_change
from indivisible.auth import submissions
from indivisible.auth.principal import Actor, Role
from indivisible.auth.submissions import Submission
from indivisible.cbm import events
from indivisible.crisis import repository, rules
from indivisible.crisis.models import AssistanceRequest, Crisis, Decision, DecisionPosition
from indivisible.crisis.schemas import (
    DecisionClose,
    DecisionCreate,
    DecisionRead,
    PositionCreate,
    PositionRead,
    RequestCreate,
)
from indivisible.db import as_utc
from indivisible.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from indivisible.i18n import _
from indivisible.registry import service as registry
from indivisible.registry.enums import MembershipStatus
from indivisible.registry.models import Agreement, Body, Obligation


def attached_states(session: Session, organisation: str, on: date) -> dict[str, str]:
    """States attached to the organisation on a date (withdrawn ones are not), with status."""
    found = registry.members_on(session, organisation, on)
    return {m.state_code: m.status for m in found.members}


def active_members(session: Session, organisation: str, on: date) -> set[str]:
    """Members whose participation is neither frozen nor suspended on the date."""
    # Frozen and suspended are statuses of their own (INACTIVE_STATUSES), so only plain
    # members count.
    return {
        state
        for state, status in attached_states(session, organisation, on).items()
        if status == MembershipStatus.member.value
    }


def told(session: Session, crisis: Crisis) -> set[str]:
    """Who is told of a step: the affected state and the organisation's members on the day
    the crisis began, the same states that may read it."""
    attached = attached_states(session, crisis.organisation_code, crisis.started_on)
    return {crisis.affected_state, *attached}


def announce(session: Session, crisis: Crisis, kind: str, actor: Actor) -> None:
    """Queue the event for the inbox stream and webhooks of every state told of the crisis."""
    events.emit(session, told(session, crisis), kind, crisis.id, actor.state_code)


def _attached_pairs(session: Session, actor: Actor) -> list[tuple[str, date]]:
    if actor.state_code is None:
        return []
    pairs = session.execute(select(Crisis.organisation_code, Crisis.started_on).distinct()).all()
    return [
        (org, day) for org, day in pairs if actor.state_code in attached_states(session, org, day)
    ]


def request_assistance(
    session: Session, actor: Actor, data: RequestCreate, *, submission: Submission
) -> Crisis:
    """The affected state's liaison officer asks an organisation's members for assistance."""
    state = actor.state_code
    if actor.role is not Role.liaison or state is None:
        raise PermissionDenied(
            _("Only a state's liaison officers request assistance on its behalf."),
            code="role_required",
        )
    registry.get_organisation(session, data.organisation, field="organisation")
    day = data.requested_at.astimezone(ZoneInfo(data.time_zone)).date()
    if state not in attached_states(session, data.organisation, day):
        raise InvalidInput(
            _("{state} is not a member of {organisation} on {date}."),
            code="not_a_member",
            field="organisation",
            params={"state": state, "organisation": data.organisation, "date": day.isoformat()},
        )
    if session.get(Agreement, data.agreement) is None:
        raise InvalidInput(
            _("No agreement {code} in the registry."),
            code="unknown_agreement",
            field="agreement",
            params={"code": data.agreement},
        )
    parties = registry.parties_on(session, data.agreement, day)
    if not parties.in_force or state not in {p.state for p in parties.parties}:
        raise InvalidInput(
            _("{state} is not a party of {agreement} in force on {date}."),
            code="not_a_party",
            field="agreement",
            params={"state": state, "agreement": data.agreement, "date": day.isoformat()},
        )
    articles = set(
        session.scalars(
            select(Obligation.article).where(Obligation.agreement_code == data.agreement)
        )
    )
    if data.article not in articles:
        raise InvalidInput(
            _("The registry records no obligation of {agreement} under {article}; known: {known}."),
            code="unknown_article",
            field="article",
            params={
                "agreement": data.agreement,
                "article": data.article,
                "known": "; ".join(sorted(articles)) or "-",
            },
        )
    now = datetime.now(UTC)
    crisis = Crisis(
        affected_state=state,
        organisation_code=data.organisation,
        kind=data.kind,
        summary=data.summary,
        started_on=day,
        created_at=now,
        created_by=actor.principal_id,
    )
    session.add(crisis)
    session.flush()
    request = AssistanceRequest(
        crisis_id=crisis.id,
        agreement_code=data.agreement,
        article=data.article,
        requested_at=data.requested_at.astimezone(UTC),
        time_zone=data.time_zone,
        plus_minus_minutes=data.plus_minus_minutes,
        text=data.text,
        created_by=actor.principal_id,
    )
    session.add(request)
    session.flush()
    record_change(
        session,
        actor,
        action="request",
        subject_type="crisis",
        subject_key=str(crisis.id),
        before=None,
        after={
            "state": state,
            "organisation": data.organisation,
            "agreement": data.agreement,
            "article": data.article,
            "requested_at": request.requested_at.isoformat(),
        },
    )
    submissions.attest(
        session, actor, kind="crisis.request", subject_key=str(request.id), state=state,
        signature=data.signature, submission=submission,
    )  # fmt: skip
    announce(session, crisis, "crisis-request", actor)
    return crisis


def get_crisis(session: Session, actor: Actor, crisis_id: int) -> Crisis:
    found = session.scalars(
        repository.visible(actor, _attached_pairs(session, actor)).where(Crisis.id == crisis_id)
    ).first()
    if found is None:
        raise NotFound(_("No crisis {id}."), code="unknown_crisis", params={"id": crisis_id})
    return found


def list_crises(session: Session, actor: Actor) -> list[Crisis]:
    stmt = repository.visible(actor, _attached_pairs(session, actor))
    return list(session.scalars(stmt.order_by(Crisis.started_on.desc(), Crisis.id.desc())))


def secretariat_of(actor: Actor, organisation: str) -> None:
    if actor.role is not Role.secretariat or actor.organisation_code != organisation:
        raise PermissionDenied(
            _("Only the secretariat of {organisation} records its bodies' decisions."),
            code="secretariat_required",
            params={"organisation": organisation},
        )


def open_decision(session: Session, actor: Actor, crisis_id: int, data: DecisionCreate) -> Decision:
    """The secretariat puts the latest request before one of the organisation's bodies."""
    crisis = get_crisis(session, actor, crisis_id)
    secretariat_of(actor, crisis.organisation_code)
    body = session.get(Body, data.body)
    if body is None or body.organisation_code != crisis.organisation_code:
        raise InvalidInput(
            _("{body} is not a body of {organisation}."),
            code="unknown_body",
            field="body",
            params={"body": data.body, "organisation": crisis.organisation_code},
        )
    request = session.scalars(
        select(AssistanceRequest)
        .where(AssistanceRequest.crisis_id == crisis.id)
        .order_by(AssistanceRequest.requested_at.desc())
    ).first()
    if request is None:
        raise Conflict(
            _("There is no request for assistance to decide on."), code="no_request", field="body"
        )
    requested_day = (
        (as_utc(request.requested_at) or request.requested_at)
        .astimezone(ZoneInfo(request.time_zone))
        .date()
    )
    if data.session_on < requested_day:
        raise InvalidInput(
            _("A decision cannot come before the request of {date}."),
            code="before_request",
            field="session_on",
            params={"date": requested_day.isoformat()},
        )
    decision = Decision(
        crisis_id=crisis.id,
        request_id=request.id,
        body_code=body.code,
        session_on=data.session_on,
        question=data.question,
        opened_at=datetime.now(UTC),
        opened_by=actor.principal_id,
    )
    session.add(decision)
    session.flush()
    record_change(
        session,
        actor,
        action="open",
        subject_type="crisis_decision",
        subject_key=str(decision.id),
        before=None,
        after={"crisis": crisis.id, "body": body.code, "session_on": data.session_on.isoformat()},
    )
    announce(session, crisis, "crisis-session", actor)
    return decision


def decision_and_crisis(
    session: Session, actor: Actor, decision_id: int
) -> tuple[Decision, Crisis]:
    decision = session.get(Decision, decision_id)
    if decision is not None:
        try:
            return decision, get_crisis(session, actor, decision.crisis_id)
        except NotFound:
            pass
    raise NotFound(_("No decision {id}."), code="unknown_decision", params={"id": decision_id})


def state_position(
    session: Session,
    actor: Actor,
    decision_id: int,
    data: PositionCreate,
    *,
    submission: Submission,
) -> DecisionPosition:
    """A member state's liaison officer states (or changes) its position while it is open."""
    decision, crisis = decision_and_crisis(session, actor, decision_id)
    state = actor.state_code
    if actor.role is not Role.liaison or state is None:
        raise PermissionDenied(
            _("Only a state's liaison officers state its position."), code="role_required"
        )
    # The decision's row lock (PostgreSQL; SQLite's writes are serial already) orders this
    # against another liaison of the same state stating a first position at the same moment,
    # which would otherwise fail on the primary key, and against the decision being closed.
    session.refresh(decision, with_for_update=True)
    if decision.closed_at is not None:
        raise Conflict(_("This decision is closed."), code="decision_closed", field="position")
    if state not in attached_states(session, crisis.organisation_code, decision.session_on):
        raise InvalidInput(
            _("{state} is not a member of {organisation} on {date}."),
            code="not_a_member",
            field="position",
            params={
                "state": state,
                "organisation": crisis.organisation_code,
                "date": decision.session_on.isoformat(),
            },
        )
    row = session.get(DecisionPosition, (decision.id, state))
    before = None if row is None else {"position": row.position}
    if row is None:
        row = DecisionPosition(decision_id=decision.id, state_code=state, position="")
        session.add(row)
    row.position = data.position.value
    row.recorded_at = datetime.now(UTC)
    row.recorded_by = actor.principal_id
    session.flush()
    record_change(
        session,
        actor,
        action="position",
        subject_type="crisis_decision",
        subject_key=str(decision.id),
        before=before,
        after={"state": state, "position": data.position.value},
    )
    submissions.attest(
        session, actor, kind="crisis.position", subject_key=f"{decision.id}/{state}",
        state=state, signature=data.signature, submission=submission,
    )  # fmt: skip
    return row


def _outcome(
    session: Session, decision: Decision, crisis: Crisis
) -> tuple[rules.Outcome, set[str]]:
    positions = {
        p.state_code: rules.Position(p.position)
        for p in session.scalars(
            select(DecisionPosition).where(DecisionPosition.decision_id == decision.id)
        )
    }
    eligible = active_members(session, crisis.organisation_code, decision.session_on)
    return rules.consensus(positions, eligible), eligible


def close_decision(
    session: Session, actor: Actor, decision_id: int, data: DecisionClose
) -> Decision:
    """The secretariat closes the decision with the moment the body took it; its result is
    what the positions give."""
    decision, crisis = decision_and_crisis(session, actor, decision_id)
    secretariat_of(actor, crisis.organisation_code)
    if decision.closed_at is not None:
        raise Conflict(_("This decision is closed."), code="decision_closed")
    request = session.get(AssistanceRequest, decision.request_id)
    requested = as_utc(request.requested_at) if request is not None else None
    decided = data.decided_at.astimezone(UTC)
    if requested is not None and decided < requested:
        raise InvalidInput(
            _("A decision cannot come before the request of {date}."),
            code="before_request",
            field="decided_at",
            params={"date": requested.isoformat(timespec="minutes")},
        )
    if decided > datetime.now(UTC) + timedelta(days=1):
        raise InvalidInput(
            _("A decision is recorded once taken, not ahead."),
            code="in_the_future",
            field="decided_at",
        )
    outcome, _eligible = _outcome(session, decision, crisis)
    decision.result = outcome.result.value
    decision.decided_at = decided
    decision.decided_time_zone = data.time_zone
    decision.decided_plus_minus_minutes = data.plus_minus_minutes
    decision.closed_at = datetime.now(UTC)
    session.flush()
    record_change(
        session,
        actor,
        action="close",
        subject_type="crisis_decision",
        subject_key=str(decision.id),
        before=None,
        after={"result": decision.result, "decided_at": decided.isoformat()},
    )
    announce(session, crisis, "crisis-decision", actor)
    return decision


def decision_read(session: Session, decision: Decision, crisis: Crisis) -> DecisionRead:
    outcome, eligible = _outcome(session, decision, crisis)
    positions = session.scalars(
        select(DecisionPosition)
        .where(DecisionPosition.decision_id == decision.id)
        .order_by(DecisionPosition.state_code)
    ).all()
    decided = as_utc(decision.decided_at)
    request = session.get(AssistanceRequest, decision.request_id)
    requested = as_utc(request.requested_at) if request is not None else None
    signed = submissions.reads(
        session, "crisis.position", [f"{decision.id}/{p.state_code}" for p in positions]
    )
    return DecisionRead(
        id=decision.id,
        body=decision.body_code,
        session_on=decision.session_on,
        question=decision.question,
        closed_at=as_utc(decision.closed_at),
        decided_at=decided,
        decided_local=decided.astimezone(ZoneInfo(decision.decided_time_zone)).isoformat(
            timespec="minutes"
        )
        if decided is not None and decision.decided_time_zone
        else None,
        decided_plus_minus_minutes=decision.decided_plus_minus_minutes or 0,
        minutes_from_request=int((decided - requested).total_seconds() // 60)
        if decided is not None and requested is not None
        else None,
        result=decision.result or outcome.result.value,
        final=decision.closed_at is not None,
        positions=[
            PositionRead(
                state=p.state_code,
                position=p.position,
                counted=p.state_code in eligible,
                recorded_at=as_utc(p.recorded_at) or p.recorded_at,
                signature=signed.get(f"{decision.id}/{p.state_code}"),
            )
            for p in positions
        ],
        eligible=sorted(eligible),
        silent=list(outcome.silent),
        quorum_checked=outcome.quorum_checked,
    )
