"""Crisis response, first steps of the life cycle: the affected state requests assistance
(which opens the crisis), the organisation's secretariat opens a decision of one of its
bodies, members state their positions, and closing the decision fixes the result the
positions give. Each step is refused, with the rule named, when its role, its state or its
order is wrong."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from indivisible.audit.service import record_change
from indivisible.auth import submissions
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import SubmissionSignatureRead
from indivisible.auth.submissions import Submission
from indivisible.cbm import events
from indivisible.crisis import repository, rules
from indivisible.crisis.models import (
    AssistanceRequest,
    Consultation,
    Crisis,
    Decision,
    DecisionPosition,
    Operation,
)
from indivisible.crisis.schemas import (
    ConsultationRead,
    CrisisRead,
    DecisionClose,
    DecisionCreate,
    DecisionRead,
    PositionCreate,
    PositionRead,
    RequestCreate,
    RequestRead,
)
from indivisible.db import as_utc
from indivisible.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from indivisible.i18n import _
from indivisible.registry import repository as registry_queries
from indivisible.registry import service as registry
from indivisible.registry.enums import MembershipStatus
from indivisible.registry.models import Agreement, Body, Obligation
from indivisible.registry.service import ATTACHED

_ATTACHED = sorted(s.value for s in ATTACHED)


def attached_states(session: Session, organisation: str, on: date) -> dict[str, str]:
    """States attached to the organisation on a date (withdrawn ones are not), with status."""
    # The registry's own statement for members on a date, without the sources members_on
    # cites for each membership: only who and in which status counts here. Callers name an
    # organisation they have checked or a crisis's, which the foreign key keeps known.
    rows = session.scalars(
        registry_queries.memberships_on(on, organisation=organisation, statuses=_ATTACHED)
    )
    return {m.state_code: m.status for m in rows}


def _active(attached: Mapping[str, str]) -> set[str]:
    # Frozen and suspended are statuses of their own (INACTIVE_STATUSES), so only plain
    # members count.
    return {state for state, status in attached.items() if status == MembershipStatus.member.value}


def active_members(session: Session, organisation: str, on: date) -> set[str]:
    """Members whose participation is neither frozen nor suspended on the date."""
    return _active(attached_states(session, organisation, on))


class Attachment:
    """Who was attached to which organisation on which day, asked of the registry once per
    (organisation, day) while the object lives. One read of crises asks the same few pairs
    for every crisis and decision; it is made for one call and dropped with it, because the
    registry changes and other workers write to it."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._known: dict[tuple[str, date], dict[str, str]] = {}

    def states(self, organisation: str, on: date) -> Mapping[str, str]:
        found = self._known.get((organisation, on))
        if found is None:
            found = attached_states(self._session, organisation, on)
            self._known[organisation, on] = found
        return found

    def active(self, organisation: str, on: date) -> set[str]:
        return _active(self.states(organisation, on))


def told(session: Session, crisis: Crisis) -> set[str]:
    """Who is told of a step: the affected state and the organisation's members on the day
    the crisis began, the same states that may read it."""
    attached = attached_states(session, crisis.organisation_code, crisis.started_on)
    return {crisis.affected_state, *attached}


def announce(session: Session, crisis: Crisis, kind: str, actor: Actor) -> None:
    """Queue the event for the inbox stream and webhooks of every state told of the crisis."""
    events.emit(session, told(session, crisis), kind, crisis.id, actor.state_code)


def _attached_pairs(
    session: Session, actor: Actor, attachment: Attachment, *where: ColumnElement[bool]
) -> list[tuple[str, date]]:
    """The (organisation, start date) pairs of the crises, narrowed by ``where``, whose
    organisation the actor's state was attached to on that date."""
    state = actor.state_code
    if state is None or not repository.sees_by_attachment(actor):
        return []
    pairs = session.execute(
        select(Crisis.organisation_code, Crisis.started_on).where(*where).distinct()
    ).all()
    return [(org, day) for org, day in pairs if state in attachment.states(org, day)]


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


def get_crisis(
    session: Session, actor: Actor, crisis_id: int, attachment: Attachment | None = None
) -> Crisis:
    # Only this crisis's own pair can make it visible, so only that one is asked about.
    pairs = _attached_pairs(
        session, actor, attachment or Attachment(session), Crisis.id == crisis_id
    )
    found = session.scalars(repository.visible(actor, pairs).where(Crisis.id == crisis_id)).first()
    if found is None:
        raise NotFound(_("No crisis {id}."), code="unknown_crisis", params={"id": crisis_id})
    return found


def list_crises(
    session: Session, actor: Actor, attachment: Attachment | None = None
) -> list[Crisis]:
    pairs = _attached_pairs(session, actor, attachment or Attachment(session))
    stmt = repository.visible(actor, pairs)
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


def _positions(session: Session, decision_ids: Sequence[int]) -> dict[int, list[DecisionPosition]]:
    """The positions on each decision, by state."""
    found: dict[int, list[DecisionPosition]] = {number: [] for number in decision_ids}
    if decision_ids:
        for p in session.scalars(
            select(DecisionPosition)
            .where(DecisionPosition.decision_id.in_(decision_ids))
            .order_by(DecisionPosition.decision_id, DecisionPosition.state_code)
        ):
            found[p.decision_id].append(p)
    return found


def _consensus(positions: Sequence[DecisionPosition], eligible: set[str]) -> rules.Outcome:
    return rules.consensus({p.state_code: rules.Position(p.position) for p in positions}, eligible)


def _outcome(
    session: Session, decision: Decision, crisis: Crisis
) -> tuple[rules.Outcome, set[str]]:
    positions = _positions(session, [decision.id])[decision.id]
    eligible = active_members(session, crisis.organisation_code, decision.session_on)
    return _consensus(positions, eligible), eligible


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
    positions = _positions(session, [decision.id])[decision.id]
    request = session.get(AssistanceRequest, decision.request_id)
    signed = submissions.reads(
        session, "crisis.position", [f"{decision.id}/{p.state_code}" for p in positions]
    )
    return _decision_read(decision, crisis, positions, request, signed, Attachment(session))


def _decision_read(
    decision: Decision,
    crisis: Crisis,
    positions: Sequence[DecisionPosition],
    request: AssistanceRequest | None,
    signed: Mapping[str, SubmissionSignatureRead],
    attachment: Attachment,
) -> DecisionRead:
    """``positions``: the decision's, ordered by state; ``signed``: their signatures by
    subject key, among others perhaps."""
    eligible = attachment.active(crisis.organisation_code, decision.session_on)
    outcome = _consensus(positions, eligible)
    decided = as_utc(decision.decided_at)
    requested = as_utc(request.requested_at) if request is not None else None
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


def read_models(
    session: Session, crises: Sequence[Crisis], attachment: Attachment | None = None
) -> list[CrisisRead]:
    """Each crisis as readers see it, read for all of them at once: each kind of row with one
    statement for every crisis listed, instead of a few per crisis, per decision and per
    operation. ``operations.read_model`` is this for a list of one;
    tests/crisis/test_read_cost.py checks that a crisis reads the same alone and among
    others."""
    # operations builds on this module, so it can only be imported once both are loaded.
    from indivisible.crisis import operations

    if not crises:
        return []
    attachment = attachment or Attachment(session)
    ids = [c.id for c in crises]
    requests: dict[int, list[AssistanceRequest]] = defaultdict(list)
    request_by_id: dict[int, AssistanceRequest] = {}
    for r in session.scalars(
        select(AssistanceRequest)
        .where(AssistanceRequest.crisis_id.in_(ids))
        .order_by(AssistanceRequest.requested_at, AssistanceRequest.id)
    ):
        requests[r.crisis_id].append(r)
        request_by_id[r.id] = r
    decisions: dict[int, list[Decision]] = defaultdict(list)
    for d in session.scalars(
        select(Decision).where(Decision.crisis_id.in_(ids)).order_by(Decision.id)
    ):
        decisions[d.crisis_id].append(d)
    positions = _positions(session, [d.id for ds in decisions.values() for d in ds])
    consultations: dict[int, list[Consultation]] = defaultdict(list)
    for c in session.scalars(
        select(Consultation)
        .where(Consultation.crisis_id.in_(ids))
        .order_by(Consultation.held_at, Consultation.id)
    ):
        consultations[c.crisis_id].append(c)
    # At most one operation per crisis: crisis_id is unique.
    operation_of = {
        o.crisis_id: o
        for o in session.scalars(select(Operation).where(Operation.crisis_id.in_(ids)))
    }
    operation_read_of = operations.operation_reads(session, list(operation_of.values()))
    request_signed = submissions.reads(
        session, "crisis.request", [str(r.id) for r in request_by_id.values()]
    )
    position_signed = submissions.reads(
        session,
        "crisis.position",
        [f"{number}/{p.state_code}" for number, ps in positions.items() for p in ps],
    )

    def request_of(decision: Decision) -> AssistanceRequest | None:
        # A decision is on a request of its own crisis; the lookup is for a row that is not.
        found = request_by_id.get(decision.request_id)
        if found is not None:
            return found
        return session.get(AssistanceRequest, decision.request_id)

    return [
        CrisisRead(
            id=crisis.id,
            affected_state=crisis.affected_state,
            organisation=crisis.organisation_code,
            kind=crisis.kind,
            summary=crisis.summary,
            started_on=crisis.started_on,
            requests=[
                RequestRead(
                    id=r.id,
                    agreement=r.agreement_code,
                    article=r.article,
                    requested_at=as_utc(r.requested_at) or r.requested_at,
                    requested_local=(as_utc(r.requested_at) or r.requested_at)
                    .astimezone(ZoneInfo(r.time_zone))
                    .isoformat(timespec="minutes"),
                    time_zone=r.time_zone,
                    plus_minus_minutes=r.plus_minus_minutes or 0,
                    text=r.text,
                    signature=request_signed.get(str(r.id)),
                )
                for r in requests[crisis.id]
            ],
            decisions=[
                _decision_read(
                    d, crisis, positions[d.id], request_of(d), position_signed, attachment
                )
                for d in decisions[crisis.id]
            ],
            consultations=[
                ConsultationRead(
                    id=c.id,
                    held=operations.moment(c.held_at, c.time_zone, c.plus_minus_minutes),
                    format=c.format,
                    participants=list(c.participants),
                    summary=c.summary,
                )
                for c in consultations[crisis.id]
            ],
            operation=operation_read_of[operation_of[crisis.id].id]
            if crisis.id in operation_of
            else None,
        )
        for crisis in crises
    ]
