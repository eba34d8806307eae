"""What a rule set says about one military activity: inside its area or not, whether it had to
be notified and by when, whether observers had to be invited, and what the file cannot decide.

Pure functions of a rule set and an activity: no database, no clock, so that the same inputs
always give the same findings. Each finding names the rule and its citation and carries a
message template (translated where it is shown) with its parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from indivisible.cbm import geography
from indivisible.cbm.ruleset import (
    ActivityKind,
    Category,
    Cited,
    NotificationRule,
    ObservationRule,
    RuleSet,
    Trigger,
)
from indivisible.i18n import _


@dataclass(frozen=True)
class Activity:
    """A notified (or to be notified) military activity, as the engine needs it."""

    state: str
    kind: ActivityKind
    start: date
    end: date
    area: geography.Area
    forces: Mapping[Category, int]
    notified_on: date
    purpose: str | None = None
    observers_invited: tuple[str, ...] = ()


class Topic(StrEnum):
    area = "area"
    notification = "notification"
    observation = "observation"
    constraint = "constraint"
    gap = "gap"


class Outcome(StrEnum):
    inside = "inside"
    outside = "outside"
    uncertain = "uncertain"
    required = "required"
    not_required = "not-required"
    on_time = "on-time"
    late = "late"
    unknown = "unknown"
    invite = "invite"
    voluntary = "voluntary"
    incomplete = "incomplete"
    within = "within"
    exceeded = "exceeded"


@dataclass(frozen=True)
class Finding:
    rule_set: str
    rule: str
    topic: Topic
    outcome: Outcome
    cite: str
    source: str
    message: str
    params: dict[str, str | int | float] = field(default_factory=dict)


class Met(StrEnum):
    yes = "yes"
    no = "no"
    # No known threshold is reached, and one the text sets could not be read.
    unknown = "unknown"


def met(trigger: Trigger | None, forces: Mapping[Category, int]) -> tuple[Met, Cited | None]:
    """Whether any threshold is reached, and the first one that is (or is unknown)."""
    if trigger is None:
        return Met.yes, None
    unknown: Cited | None = None
    for threshold in trigger.any_of:
        limit = threshold.at_least
        if limit.value is None:
            unknown = unknown or limit
        elif forces.get(threshold.category, 0) >= limit.value:
            return Met.yes, limit
    return (Met.unknown, unknown) if unknown is not None else (Met.no, None)


def placement(rules: RuleSet, activity: Activity) -> geography.Placement:
    if rules.area.kind == "territories":
        return geography.in_territories(activity.area, rules.area.states)
    depth = rules.area.depth_km
    if depth is None or depth.value is None:
        return geography.Placement(False, None, True)
    return geography.in_border_zone(activity.area, list(rules.area.borders), depth.value)


def _notification(rules: RuleSet, rule: NotificationRule, activity: Activity) -> Finding:
    reached, threshold = met(rule.trigger, activity.forces)
    if reached is Met.no:
        return Finding(
            rule_set=rules.code,
            rule=rule.id,
            topic=Topic.notification,
            outcome=Outcome.not_required,
            cite=rule.cite,
            source=rule.source,
            message=_("{cite}: below every notification threshold; not required."),
            params={"cite": rule.cite},
        )
    if reached is Met.unknown:
        assert threshold is not None
        return Finding(
            rule_set=rules.code,
            rule=rule.id,
            topic=Topic.notification,
            outcome=Outcome.unknown,
            cite=threshold.cite,
            source=threshold.source,
            message=_("{cite}: a notification threshold of the text could not be read."),
            params={"cite": threshold.cite},
        )
    notice = rule.notice_days
    if notice.value is None:
        return Finding(
            rule_set=rules.code,
            rule=rule.id,
            topic=Topic.notification,
            outcome=Outcome.required,
            cite=notice.cite,
            source=notice.source,
            message=_("{cite}: notification required; its notice period could not be read."),
            params={"cite": notice.cite},
        )
    days = int(notice.value)
    deadline = activity.start - timedelta(days=days)
    ahead = (activity.start - activity.notified_on).days
    params: dict[str, str | int | float] = {
        "cite": notice.cite,
        "required": days,
        "ahead": ahead,
        "deadline": deadline.isoformat(),
    }
    if threshold is not None:
        params["threshold"] = f"{threshold.value:,.0f}"
    if activity.notified_on <= deadline:
        return Finding(
            rule_set=rules.code,
            rule=rule.id,
            topic=Topic.notification,
            outcome=Outcome.on_time,
            cite=notice.cite,
            source=notice.source,
            message=_("{cite}: notified {ahead} days ahead, {required} required: on time."),
            params=params,
        )
    params["late"] = (activity.notified_on - deadline).days
    return Finding(
        rule_set=rules.code,
        rule=rule.id,
        topic=Topic.notification,
        outcome=Outcome.late,
        cite=notice.cite,
        source=notice.source,
        message=_("{cite}: notified {ahead} days ahead, {required} required: {late} days late."),
        params=params,
    )


def _missing_content(rule: NotificationRule, activity: Activity) -> list[str]:
    given = {
        "purpose": bool((activity.purpose or "").strip()),
        "forces": any(count > 0 for count in activity.forces.values()),
        "observers-invited": bool(activity.observers_invited),
    }
    return [item for item in rule.content if not given[item]]


def _content(rules: RuleSet, rule: NotificationRule, activity: Activity) -> Finding | None:
    """A required notification that lacks what the rule says it must contain."""
    missing = _missing_content(rule, activity)
    if not missing:
        return None
    return Finding(
        rule_set=rules.code,
        rule=rule.id,
        topic=Topic.notification,
        outcome=Outcome.incomplete,
        cite=rule.cite,
        source=rule.source,
        message=_("{cite}: the notification lacks required content: {items}."),
        params={"cite": rule.cite, "items": ", ".join(missing)},
    )


def _observation(rules: RuleSet, rule: ObservationRule, activity: Activity) -> Finding | None:
    reached, threshold = met(rule.trigger, activity.forces)
    if reached is Met.no:
        return None
    if reached is Met.unknown:
        assert threshold is not None
        return Finding(
            rule_set=rules.code,
            rule=rule.id,
            topic=Topic.observation,
            outcome=Outcome.unknown,
            cite=threshold.cite,
            source=threshold.source,
            message=_("{cite}: an observation threshold of the text could not be read."),
            params={"cite": threshold.cite},
        )
    params: dict[str, str | int | float] = {"cite": rule.cite}
    if rule.invitation_days_before is not None and rule.invitation_days_before.value is not None:
        days = int(rule.invitation_days_before.value)
        params["days"] = days
        params["deadline"] = (activity.start - timedelta(days=days)).isoformat()
    if rule.max_observers is not None and rule.max_observers.value is not None:
        params["observers"] = int(rule.max_observers.value)
    voluntary = rule.obligation == "voluntary"
    return Finding(
        rule_set=rules.code,
        rule=rule.id,
        topic=Topic.observation,
        outcome=Outcome.voluntary if voluntary else Outcome.invite,
        cite=rule.cite,
        source=rule.source,
        message=(
            _("{cite}: observers may be invited, on a voluntary basis.")
            if voluntary
            else _("{cite}: observers must be invited.")
        ),
        params=params,
    )


def check(rules: RuleSet, activity: Activity) -> list[Finding]:
    """Every finding of one rule set on one activity, in a stable order."""
    if activity.kind not in rules.activities:
        return []
    where = placement(rules, activity)
    area_params: dict[str, str | int | float] = {"cite": rules.area.cite}
    if where.distance_km is not None:
        area_params["distance"] = where.distance_km
    if rules.area.depth_km is not None and rules.area.depth_km.value is not None:
        area_params["depth"] = rules.area.depth_km.value
    findings = [
        Finding(
            rule_set=rules.code,
            rule="area",
            topic=Topic.area,
            outcome=Outcome.uncertain
            if where.uncertain
            else Outcome.inside
            if where.inside
            else Outcome.outside,
            cite=rules.area.cite,
            source=rules.area.source,
            message=_("{cite}: inside the area of application.")
            if where.inside
            else _("{cite}: outside the area of application."),
            params=area_params,
        )
    ]
    for rule in rules.notification:
        if where.inside and activity.kind in rule.activities:
            decided = _notification(rules, rule, activity)
            findings.append(decided)
            if decided.outcome in (Outcome.on_time, Outcome.late, Outcome.required):
                lacking = _content(rules, rule, activity)
                if lacking is not None:
                    findings.append(lacking)
    for observation in rules.observation:
        if where.inside or observation.beyond_area:
            found = _observation(rules, observation, activity)
            if found is not None:
                findings.append(found)
    if where.inside:
        findings.extend(
            Finding(
                rule_set=rules.code,
                rule="gap",
                topic=Topic.gap,
                outcome=Outcome.unknown,
                cite=gap.cite,
                source="",
                message=_("{cite}: not encoded ({topic})."),
                params={"cite": gap.cite, "topic": gap.topic},
            )
            for gap in rules.gaps
        )
    return findings


def constraints(rules: RuleSet, activity: Activity, earlier: Mapping[str, int]) -> list[Finding]:
    """Whether the activity breaks a constraint on how many activities of a size a state may
    hold in a period; ``earlier`` counts, per constraint id, the state's other activities in
    the period that met its trigger (the caller reads them from the record)."""
    found: list[Finding] = []
    for rule in rules.constraints:
        reached, _threshold = met(rule.trigger, activity.forces)
        if reached is not Met.yes:
            continue
        limit = rule.max_activities
        if limit.value is None:
            continue
        count = earlier.get(rule.id, 0) + 1
        params: dict[str, str | int | float] = {
            "cite": limit.cite,
            "count": count,
            "limit": int(limit.value),
            "years": rule.period_years,
        }
        exceeded = count > limit.value
        found.append(
            Finding(
                rule_set=rules.code,
                rule=rule.id,
                topic=Topic.constraint,
                outcome=Outcome.exceeded if exceeded else Outcome.within,
                cite=limit.cite,
                source=limit.source,
                message=(
                    _(
                        "{cite}: activity {count} of its size in {years} year(s), {limit} allowed: constraint broken."
                    )
                    if exceeded
                    else _(
                        "{cite}: activity {count} of its size in {years} year(s), {limit} allowed."
                    )
                ),
                params=params,
            )
        )
    return found
