"""Statements over the alert tables, including who may see what: a rule and what it fired
belong to its state's users; firings are read by those who subscribe."""

from __future__ import annotations

from sqlalchemy import Select, select

from indivisible.warning.models import AlertFiring, AlertRule, AlertSubscription


def rules_of_state(state: str) -> Select[tuple[AlertRule]]:
    return select(AlertRule).where(AlertRule.state_code == state).order_by(AlertRule.id)


def subscribed_rule_ids(principal_id: int | None) -> Select[tuple[int]]:
    return select(AlertSubscription.rule_id).where(AlertSubscription.principal_id == principal_id)


def firings_for(principal_id: int | None, state: str) -> Select[tuple[AlertFiring, AlertRule]]:
    """Firings of the rules of ``state`` that the principal subscribes to, newest first."""
    return (
        select(AlertFiring, AlertRule)
        .join(AlertRule, AlertRule.id == AlertFiring.rule_id)
        .join(AlertSubscription, AlertSubscription.rule_id == AlertRule.id)
        .where(AlertSubscription.principal_id == principal_id, AlertRule.state_code == state)
        .order_by(AlertFiring.id.desc())
    )


def active_rules() -> Select[tuple[AlertRule]]:
    return select(AlertRule).where(AlertRule.active.is_(True)).order_by(AlertRule.id)
