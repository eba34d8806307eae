"""Filing notifications and reading them: the engine applied to every agreement in force
between the notifying state and others on the activity's dates, findings kept, and the
notification routed to the other parties of each agreement whose area it falls in."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Row, exists, select
from sqlalchemy.orm import Session

from indivisible.audit.service import record_change
from indivisible.auth import submissions
from indivisible.auth.principal import Actor, Role
from indivisible.auth.submissions import Submission
from indivisible.cbm import engine, events, geography, repository, ruleset
from indivisible.cbm.engine import Activity, Outcome, Topic
from indivisible.cbm.models import (
    Clarification,
    Notification,
    NotificationFinding,
    NotificationRecipient,
)
from indivisible.cbm.ruleset import Category
from indivisible.cbm.schemas import (
    AnswerCreate,
    ClarificationCreate,
    ClarificationRead,
    FindingRead,
    NotificationCreate,
    NotificationRead,
    PointLocation,
    PolygonLocation,
    RecipientRead,
    RuleSetSummary,
    StateLocation,
)
from indivisible.config import get_settings
from indivisible.db import as_utc
from indivisible.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from indivisible.i18n import _
from indivisible.registry import service as registry

# Outcomes that mean an agreement required the notification.
REQUIRED = frozenset({Outcome.on_time, Outcome.late, Outcome.required})
# An activity in an agreement's area, or one its observation rules reach beyond it.
APPLIES = frozenset({Outcome.inside, Outcome.uncertain})


def rule_sets() -> tuple[ruleset.RuleSet, ...]:
    """The regimes in force on this node: the shipped files and the operator's."""
    return _rule_sets(tuple(get_settings().cbm_rules_dirs()))


@functools.cache
def _rule_sets(directories: tuple[Path, ...]) -> tuple[ruleset.RuleSet, ...]:
    return tuple(ruleset.load_from(directories))


def rule_set(code: str, *, field: str = "rule_set") -> ruleset.RuleSet:
    for rules in rule_sets():
        if rules.code == code:
            return rules
    raise InvalidInput(
        _("No CBM rule set {code} on this node."),
        code="unknown_rule_set",
        field=field,
        params={"code": code},
    )


def area_of(
    session: Session,
    location: PointLocation | PolygonLocation | StateLocation,
    *,
    field: str = "location",
) -> geography.Area:
    if isinstance(location, PointLocation):
        return geography.Area.circle(*location.point, location.radius_km)
    if isinstance(location, PolygonLocation):
        return geography.Area.polygon(location.polygon)
    registry.get_state(session, location.state, field=f"{field}.state")
    if not geography.known(location.state):
        raise InvalidInput(
            _("The map has no territory for {code}; give a point or a polygon."),
            code="unmapped_state",
            field=f"{field}.state",
            params={"code": location.state},
        )
    return geography.Area.of_state(location.state)


def _earlier(session: Session, rules: ruleset.RuleSet, state: str, start: date) -> dict[str, int]:
    """Per constraint, the state's notified activities in the regime's area in the
    constraint's period (calendar years up to the start's) that met its trigger."""
    counts: dict[str, int] = {}
    for rule in rules.constraints:
        first = date(start.year - rule.period_years + 1, 1, 1)
        rows = session.scalars(
            select(Notification).where(
                Notification.state_code == state,
                Notification.start >= first,
                Notification.start <= date(start.year, 12, 31),
                exists().where(
                    NotificationFinding.notification_id == Notification.id,
                    NotificationFinding.rule_set == rules.code,
                    NotificationFinding.topic == Topic.area.value,
                    NotificationFinding.outcome.in_([o.value for o in APPLIES]),
                ),
            )
        )
        counts[rule.id] = sum(
            1
            for row in rows
            if engine.met(rule.trigger, {Category(k): v for k, v in row.forces.items()})[0]
            is engine.Met.yes
        )
    return counts


def file_notification(
    session: Session,
    actor: Actor,
    data: NotificationCreate,
    *,
    submission: Submission,
    filed_on: date | None = None,
) -> Notification:
    """File a state's notification; the engine's findings and the routing are decided here.

    ``filed_on`` backdates a filing, for the demo scenario and imports run at the console; the
    API never passes it, since the filing date is what "late" is measured against.
    """
    state = actor.state_code
    if actor.role is not Role.liaison or state is None:
        raise PermissionDenied(
            _("Only a state's liaison officers file notifications on its behalf."),
            code="role_required",
        )
    for code in data.observers_invited:
        registry.get_state(session, code, field="observers_invited")
    area = area_of(session, data.location)
    now = datetime.now(UTC)
    day = filed_on or now.date()
    activity = Activity(
        state=state,
        kind=data.kind,
        start=data.start,
        end=data.end,
        area=area,
        forces=dict(data.forces),
        notified_on=day,
        purpose=data.purpose,
        observers_invited=tuple(data.observers_invited),
    )
    findings: list[tuple[ruleset.RuleSet, engine.Finding]] = []
    recipients: dict[str, set[str]] = {}
    # Whether any applicable agreement requires it, or might (a number the file lacks).
    owed = False
    for rules in rule_sets():
        parties = registry.parties_on(session, rules.agreement, data.start)
        active = {p.state for p in parties.parties if p.participation is None}
        if not parties.in_force or state not in active:
            continue
        found = engine.check(rules, activity)
        if rules.constraints and any(f.topic is Topic.area and f.outcome in APPLIES for f in found):
            found += engine.constraints(
                rules, activity, _earlier(session, rules, state, data.start)
            )
        findings.extend((rules, f) for f in found)
        if any(
            (f.topic is Topic.area and f.outcome in APPLIES)
            # Observers due beyond the area concern the other parties; a voluntary
            # invitation is the notifying state's own choice.
            or (f.topic is Topic.observation and f.outcome is not Outcome.voluntary)
            for f in found
        ):
            owed = owed or any(f.outcome in REQUIRED or f.outcome is Outcome.unknown for f in found)
            for other in active - {state}:
                recipients.setdefault(other, set()).add(rules.code)
    notification = Notification(
        state_code=state,
        kind=data.kind.value,
        start=data.start,
        end=data.end,
        location=data.location.model_dump(mode="json"),
        forces={category.value: count for category, count in data.forces.items()},
        purpose=data.purpose,
        observers_invited=" ".join(sorted(set(data.observers_invited))),
        voluntary=not owed,
        filed_on=day,
        filed_at=now,
        filed_by=actor.principal_id,
    )
    session.add(notification)
    session.flush()
    session.add_all(
        NotificationFinding(
            notification_id=notification.id,
            rule_set=rules.code,
            rule_set_version=rules.version,
            rule=f.rule,
            topic=f.topic.value,
            outcome=f.outcome.value,
            cite=f.cite[:300],
            message=f.message,
            params=dict(f.params),
        )
        for rules, f in findings
    )
    session.add_all(
        NotificationRecipient(
            notification_id=notification.id,
            state_code=code,
            agreements=" ".join(sorted(codes)),
        )
        for code, codes in sorted(recipients.items())
    )
    session.flush()
    events.emit(session, recipients, "notification", notification.id, state)
    record_change(
        session,
        actor,
        action="create",
        subject_type="cbm_notification",
        subject_key=str(notification.id),
        before=None,
        after={
            "state": state,
            "kind": notification.kind,
            "start": data.start.isoformat(),
            "end": data.end.isoformat(),
            "recipients": sorted(recipients),
        },
    )
    submissions.attest(
        session, actor, kind="cbm.notification", subject_key=str(notification.id), state=state,
        signature=data.signature, submission=submission,
    )  # fmt: skip
    return notification


def get_notification(session: Session, actor: Actor, notification_id: int) -> Notification:
    """A notification the actor may see; missing and invisible look the same."""
    found = session.scalars(
        repository.visible(actor).where(Notification.id == notification_id)
    ).first()
    if found is None:
        raise NotFound(
            _("No notification {id}."), code="unknown_notification", params={"id": notification_id}
        )
    return found


def list_notifications(
    session: Session, actor: Actor, *, box: str = "all", limit: int = 100, offset: int = 0
) -> list[Notification]:
    stmt = repository.inbox(actor) if box == "inbox" else repository.visible(actor)
    if box == "sent":
        stmt = stmt.where(Notification.state_code == actor.state_code)
    stmt = stmt.order_by(Notification.filed_at.desc(), Notification.id.desc())
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def acknowledge(session: Session, actor: Actor, notification_id: int) -> NotificationRecipient:
    """A recipient state's liaison officer acknowledges receipt (once; again is a no-op)."""
    notification = get_notification(session, actor, notification_id)
    entry = session.get(NotificationRecipient, (notification.id, actor.state_code))
    if entry is None or actor.role is not Role.liaison:
        raise PermissionDenied(
            _("Only a recipient state's liaison officers acknowledge a notification."),
            code="not_a_recipient",
        )
    if entry.acknowledged_at is None:
        entry.acknowledged_at = datetime.now(UTC)
        entry.acknowledged_by = actor.principal_id
        record_change(
            session,
            actor,
            action="acknowledge",
            subject_type="cbm_notification",
            subject_key=str(notification.id),
            before=None,
            after={"state": actor.state_code},
        )
        session.flush()
    return entry


def _deadline(
    agreements: list[str], urgent: bool, asked_at: datetime
) -> tuple[datetime | None, str | None]:
    """The shortest reply period any of these rule sets encodes, and where it comes from."""
    best: tuple[datetime, str] | None = None
    for rules in rule_sets():
        if rules.code not in agreements or rules.clarification is None:
            continue
        rule = rules.clarification
        for period, unit in (
            (rule.urgent_reply_days if urgent else rule.reply_days, "days"),
            (rule.reply_hours, "hours"),
        ):
            if period is None or period.value is None:
                continue
            due = asked_at + timedelta(**{unit: period.value})
            if best is None or due < best[0]:
                best = (due, f"{rules.code} {period.cite}")
    return (best[0], best[1]) if best else (None, None)


def ask(
    session: Session,
    actor: Actor,
    notification_id: int,
    data: ClarificationCreate,
    *,
    asked_at: datetime | None = None,
) -> Clarification:
    """A recipient state's liaison officer asks the notifying state to clarify.

    ``asked_at`` backdates the request, for the demo scenario and imports at the console; the
    API never passes it.
    """
    notification = get_notification(session, actor, notification_id)
    entry = session.get(NotificationRecipient, (notification.id, actor.state_code))
    if entry is None or actor.role is not Role.liaison:
        raise PermissionDenied(
            _("Only a recipient state's liaison officers ask for clarification."),
            code="not_a_recipient",
        )
    now = asked_at or datetime.now(UTC)
    due_at, due_rule = _deadline(entry.agreements.split(), data.urgent, now)
    clarification = Clarification(
        notification_id=notification.id,
        asked_by_state=entry.state_code,
        asked_by=actor.principal_id,
        question=data.question,
        urgent=data.urgent,
        asked_at=now,
        due_at=due_at,
        due_rule=due_rule,
    )
    session.add(clarification)
    session.flush()
    events.emit(
        session, [notification.state_code], "clarification", notification.id, entry.state_code
    )
    record_change(
        session,
        actor,
        action="ask",
        subject_type="cbm_clarification",
        subject_key=str(clarification.id),
        before=None,
        after={"notification": notification.id, "state": entry.state_code, "urgent": data.urgent},
    )
    return clarification


def answer(
    session: Session,
    actor: Actor,
    clarification_id: int,
    data: AnswerCreate,
    *,
    answered_at: datetime | None = None,
) -> Clarification:
    """The notifying state's liaison officer answers, once (``answered_at``: as ``ask``)."""
    clarification = session.get(Clarification, clarification_id)
    notification = (
        session.scalars(
            repository.visible(actor).where(Notification.id == clarification.notification_id)
        ).first()
        if clarification is not None
        else None
    )
    if clarification is None or notification is None:
        raise NotFound(
            _("No clarification request {id}."),
            code="unknown_clarification",
            params={"id": clarification_id},
        )
    if actor.role is not Role.liaison or actor.state_code != notification.state_code:
        raise PermissionDenied(
            _("Only the notifying state's liaison officers answer a clarification request."),
            code="not_the_notifier",
        )
    if clarification.answered_at is not None:
        raise Conflict(
            _("This request was answered already."), code="already_answered", field="answer"
        )
    clarification.answer = data.answer
    clarification.answered_at = answered_at or datetime.now(UTC)
    clarification.answered_by = actor.principal_id
    session.flush()
    events.emit(
        session, [clarification.asked_by_state], "answer", notification.id, notification.state_code
    )
    record_change(
        session,
        actor,
        action="answer",
        subject_type="cbm_clarification",
        subject_key=str(clarification.id),
        before=None,
        after={"notification": notification.id},
    )
    return clarification


def clarification_read(row: Clarification, now: datetime | None = None) -> ClarificationRead:
    due = utc(row.due_at)
    moment = now or datetime.now(UTC)
    return ClarificationRead(
        id=row.id,
        asked_by_state=row.asked_by_state,
        question=row.question,
        urgent=row.urgent,
        asked_at=utc(row.asked_at) or row.asked_at,
        due_at=due,
        due_rule=row.due_rule,
        answer=row.answer,
        answered_at=utc(row.answered_at),
        overdue=row.answered_at is None and due is not None and due < moment,
    )


utc = as_utc


def recipient_read(entry: NotificationRecipient | Row[Any]) -> RecipientRead:
    return RecipientRead(
        state=entry.state_code,
        agreements=entry.agreements.split(),
        acknowledged_at=utc(entry.acknowledged_at),
    )


def read_model(session: Session, notification: Notification) -> NotificationRead:
    return read_models(session, [notification])[0]


def read_models(session: Session, notifications: Sequence[Notification]) -> list[NotificationRead]:
    """Read models of notifications the caller has already found visible, in their order.

    Each kind of related row is fetched for all of them at once: one statement per kind
    whatever the page's size, where one per notification made a page of 20 cost 80.
    """
    if not notifications:
        return []
    ids = [n.id for n in notifications]
    findings: dict[int, list[FindingRead]] = defaultdict(list)
    for finding in session.execute(repository.findings_of(ids)):
        findings[finding.notification_id].append(finding_read(finding))
    recipients: dict[int, list[RecipientRead]] = defaultdict(list)
    for recipient in session.execute(repository.recipients_of(ids)):
        recipients[recipient.notification_id].append(recipient_read(recipient))
    clarifications: dict[int, list[Clarification]] = defaultdict(list)
    for clarification in session.scalars(repository.clarifications_of(ids)):
        clarifications[clarification.notification_id].append(clarification)
    signatures = submissions.reads(session, "cbm.notification", [str(i) for i in ids])
    return [
        NotificationRead(
            id=notification.id,
            state=notification.state_code,
            kind=notification.kind,
            start=notification.start,
            end=notification.end,
            location=notification.location,
            forces=notification.forces,
            purpose=notification.purpose,
            observers_invited=notification.observers_invited.split(),
            voluntary=notification.voluntary,
            filed_on=notification.filed_on,
            filed_at=utc(notification.filed_at) or notification.filed_at,
            findings=findings[notification.id],
            recipients=recipients[notification.id],
            clarifications=[clarification_read(c) for c in clarifications[notification.id]],
            signature=signatures.get(str(notification.id)),
        )
        for notification in notifications
    ]


def finding_read(row: Row[Any]) -> FindingRead:
    return FindingRead(
        rule_set=row.rule_set,
        rule_set_version=row.rule_set_version,
        rule=row.rule,
        topic=row.topic,
        outcome=row.outcome,
        cite=row.cite,
        text=row.message.format(**row.params),
        message=row.message,
        params=row.params,
    )


def rule_set_summary(rules: ruleset.RuleSet) -> RuleSetSummary:
    depth = rules.area.depth_km
    return RuleSetSummary(
        code=rules.code,
        agreement=rules.agreement,
        version=rules.version,
        title=rules.title.en,
        area=f"{rules.area.kind} {depth.value:g} km"
        if depth is not None and depth.value is not None
        else rules.area.kind,
        notification_rules=len(rules.notification),
        observation_rules=len(rules.observation),
        ceilings=len(rules.ceilings),
        quotas=len(rules.quotas),
        sectors=sorted({c.sector for c in rules.ceilings if c.sector}),
        gaps=[{"topic": g.topic, "cite": g.cite, "note": g.note} for g in rules.gaps],
    )
