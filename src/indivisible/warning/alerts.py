"""Alert rules over the indicators and anomaly flags, subscriptions per user, and their
evaluation after every import.

A rule belongs to a state: its liaison officers and analysts see it, subscribe to it and
read what it fired. Evaluation looks at the last months of each rule's series (three by
default, so that a first evaluation over decades of history does not flood the inbox) and
records a firing once per rule, key and month, with the data that fired it. Each new firing
is announced at once to the rule's state through the event outbox (the event stream and the
state's signed webhooks), in the same transaction.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from indivisible.audit.service import record_change
from indivisible.auth.principal import Actor, Role
from indivisible.cbm import events
from indivisible.errors import InvalidInput, NotFound, PermissionDenied
from indivisible.i18n import _
from indivisible.warning import anomaly, indicators, repository, service
from indivisible.warning.models import AlertFiring, AlertRule, AlertSubscription
from indivisible.warning.schemas import (
    AlertCondition,
    AlertFiringRead,
    AlertRuleCreate,
    AlertRuleRead,
    EvaluationRead,
)

READERS = (Role.liaison, Role.analyst)
RECENT_MONTHS = 3


def _own_state(actor: Actor) -> str:
    if actor.role not in READERS or actor.state_code is None:
        raise PermissionDenied(
            _("Only liaison officers and analysts of a state keep alert rules."),
            code="role_required",
        )
    return actor.state_code


def create_rule(session: Session, actor: Actor, data: AlertRuleCreate) -> AlertRule:
    state = _own_state(actor)
    if data.region is not None:
        service.region(session, data.region, date.today())
    rule = AlertRule(
        state_code=state,
        name=data.name,
        country=data.country,
        region=data.region,
        indicator=data.indicator.value,
        condition=data.condition.value,
        threshold=data.threshold,
        active=True,
        created_at=datetime.now(UTC),
        created_by=actor.principal_id,
    )
    session.add(rule)
    session.flush()
    if actor.principal_id is not None:
        session.add(AlertSubscription(rule_id=rule.id, principal_id=actor.principal_id))
        session.flush()
    record_change(
        session,
        actor,
        action="create",
        subject_type="warning_alert_rule",
        subject_key=str(rule.id),
        before=None,
        after=data.model_dump(mode="json"),
    )
    return rule


def rule_of_state(session: Session, actor: Actor, rule_id: int) -> AlertRule:
    state = _own_state(actor)
    rule = session.get(AlertRule, rule_id)
    if rule is None or rule.state_code != state:
        raise NotFound(_("No alert rule {id}."), code="unknown_alert_rule", params={"id": rule_id})
    return rule


def rules(session: Session, actor: Actor) -> list[AlertRuleRead]:
    state = _own_state(actor)
    mine = set(session.scalars(repository.subscribed_rule_ids(actor.principal_id)))
    rows = session.scalars(repository.rules_of_state(state))
    return [rule_read(r, r.id in mine) for r in rows]


def rule_read(rule: AlertRule, subscribed: bool) -> AlertRuleRead:
    return AlertRuleRead(
        id=rule.id, state=rule.state_code, name=rule.name, country=rule.country, region=rule.region,
        indicator=rule.indicator, condition=rule.condition, threshold=rule.threshold,
        active=rule.active, subscribed=subscribed,
    )  # fmt: skip


def subscribe(session: Session, actor: Actor, rule_id: int, on: bool) -> AlertRuleRead:
    rule = rule_of_state(session, actor, rule_id)
    if actor.principal_id is None:
        raise PermissionDenied(_("Only a user can subscribe."), code="role_required")
    found = session.get(AlertSubscription, (rule.id, actor.principal_id))
    if on and found is None:
        session.add(AlertSubscription(rule_id=rule.id, principal_id=actor.principal_id))
    elif not on and found is not None:
        session.delete(found)
    session.flush()
    return rule_read(rule, on)


def firings(session: Session, actor: Actor, firing_id: int | None = None) -> list[AlertFiringRead]:
    """What the rules the actor subscribes to fired, newest first."""
    state = _own_state(actor)
    stmt = repository.firings_for(actor.principal_id, state)
    if firing_id is not None:
        stmt = stmt.where(AlertFiring.id == firing_id)
    found = [
        AlertFiringRead(
            id=f.id,
            rule=r.id,
            rule_name=r.name,
            key=f.key,
            month=f.month,
            value=f.value,
            detail=f.detail,
            fired_at=f.fired_at,
        )
        for f, r in session.execute(stmt).tuples()
    ]
    if firing_id is not None and not found:
        raise NotFound(_("No alert {id}."), code="unknown_alert", params={"id": firing_id})
    return found


def _hits(
    rule: AlertRule, series: indicators.Series, key: str, months: int
) -> list[tuple[date, float, dict[str, Any]]]:
    recent = set(series.months[-months:])
    if rule.condition == AlertCondition.anomalous.value:
        return [
            (f.month, float(f.observed), {**asdict(f), "explanation": anomaly.explain(f)})
            for f in anomaly.detect(series, rule.indicator)
            if f.key == key and f.month in recent
        ]
    hits = []
    for row in indicators.table(series):
        if row.key != key or row.month not in recent:
            continue
        value = getattr(row, rule.indicator)
        if value is not None and rule.threshold is not None and value > rule.threshold:
            hits.append((row.month, float(value), {**asdict(row), "threshold": rule.threshold}))
    return hits


def _plain(value: Any) -> Any:
    """The firing's data as JSON can store it: dates as ISO strings, tuples as lists."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def evaluate(
    session: Session, actor: Actor, path: Path, months: int = RECENT_MONTHS
) -> EvaluationRead:
    """Evaluate every active rule over the last ``months`` months of its series."""
    if actor.role not in (Role.admin, Role.liaison):
        raise PermissionDenied(
            _("Only administrators and liaison officers evaluate alert rules."),
            code="role_required",
        )
    active = list(session.scalars(repository.active_rules()))
    if actor.role is Role.liaison:
        # A state's officer evaluates its own state's rules: counting the others' would tell
        # it how many rules other states keep and how many just fired.
        active = [rule for rule in active if rule.state_code == actor.state_code]
    if not active:
        return EvaluationRead(rules=0, fired=0)
    fired = 0
    now = datetime.now(UTC)
    with service.open_store(path) as connection:
        everyone = indicators.monthly(connection)
        regions: dict[str, indicators.Series] = {}
        for rule in active:
            if rule.region is not None:
                if rule.region not in regions:
                    try:
                        found = service.region(session, rule.region, date.today())
                    except (InvalidInput, NotFound):
                        continue
                    regions[rule.region] = indicators.monthly(
                        connection, found.countries, region=rule.region
                    )
                series, key = regions[rule.region], rule.region
            else:
                series, key = everyone, rule.country or ""
            if key not in series.keys:
                continue
            for month, value, detail in _hits(rule, series, key, months):
                exists = session.scalar(
                    select(AlertFiring.id).where(
                        AlertFiring.rule_id == rule.id,
                        AlertFiring.key == key,
                        AlertFiring.month == month,
                    )
                )
                if exists is not None:
                    continue
                firing = AlertFiring(
                    rule_id=rule.id,
                    key=key,
                    month=month,
                    value=value,
                    detail=_plain(detail),
                    fired_at=now,
                )
                session.add(firing)
                session.flush()
                events.emit(session, [rule.state_code], "warning-alert", firing.id, None)
                fired += 1
    return EvaluationRead(rules=len(active), fired=fired)
