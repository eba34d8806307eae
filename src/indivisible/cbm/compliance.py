"""The compliance report of one regime for one year: per party, notifications on time, late
or missing, observers not invited, annual data sent, ceilings held or exceeded, verification
quotas used and clarification requests left open.

Everything is computed from the record the reader may see (the notifications routed to its
state, the calendars sent to it, the regime's exchanged data), at the time of reading: nothing
in it is typed in. Only parties of the regime in that year see its report.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor
from indivisible.cbm import engine, exchange, repository, ruleset
from indivisible.cbm.engine import Activity, Outcome, Topic
from indivisible.cbm.models import (
    AnnualData,
    CalendarEntry,
    Clarification,
    Notification,
    NotificationFinding,
    VerificationRequest,
)
from indivisible.cbm.ruleset import ActivityKind, Category
from indivisible.cbm.schemas import (
    CeilingCheck,
    ComplianceReport,
    PointLocation,
    PolygonLocation,
    QuotaUse,
    StateCompliance,
    StateLocation,
)
from indivisible.cbm.service import REQUIRED, area_of, rule_sets, utc
from indivisible.cbm.vocabulary import VOCABULARY
from indivisible.errors import NotFound
from indivisible.i18n import _
from indivisible.pdf import Bar, Document

_LOCATION: TypeAdapter[PointLocation | PolygonLocation | StateLocation] = TypeAdapter(
    PointLocation | PolygonLocation | StateLocation
)
# When one activity meets several notification rules, the worst outcome stands for it.
_SEVERITY = {Outcome.late: 3, Outcome.required: 2, Outcome.on_time: 1}


def _hidden(code: str, year: int) -> NotFound:
    return NotFound(
        _("No compliance report of {rule_set} for {year}."),
        code="unknown_report",
        params={"rule_set": code, "year": year},
    )


def report(
    session: Session, actor: Actor, code: str, year: int, *, as_of: date | None = None
) -> ComplianceReport:
    rules = next((r for r in rule_sets() if r.code == code), None)
    if rules is None:
        raise _hidden(code, year)
    parties = exchange.parties_in_year(session, rules, year)
    # Non-parties are told nothing, not even that the regime had a year of activity.
    if actor.role not in repository.READERS or actor.state_code not in parties:
        raise _hidden(code, year)
    today = as_of or datetime.now(UTC).date()
    first, last = date(year, 1, 1), date(year, 12, 31)

    notifications = list(
        session.scalars(
            repository.visible(actor)
            .where(Notification.start >= first, Notification.start <= last)
            .order_by(Notification.start, Notification.id)
        )
    )
    findings: dict[int, list[NotificationFinding]] = defaultdict(list)
    if notifications:
        for finding in session.scalars(
            select(NotificationFinding).where(
                NotificationFinding.rule_set == code,
                NotificationFinding.notification_id.in_([n.id for n in notifications]),
            )
        ):
            findings[finding.notification_id].append(finding)
    under = [
        n
        for n in notifications
        if any(
            f.topic == Topic.area.value
            and f.outcome in (Outcome.inside.value, Outcome.uncertain.value)
            for f in findings[n.id]
        )
    ]

    states = {
        state: StateCompliance(
            state=state,
            side=side,
            notifications=0,
            on_time=0,
            late=0,
            required_undated=0,
            voluntary=0,
            missing=[],
            observers_not_invited=[],
            constraints_broken=[],
            incomplete=[],
            annual_data=False,
            annual_data_late=None,
            open_clarifications=0,
            overdue_clarifications=0,
        )
        for state, side in sorted(parties.items())
    }
    for notification in under:
        row = states.get(notification.state_code)
        if row is None:
            continue
        row.notifications += 1
        outcomes = [
            Outcome(f.outcome) for f in findings[notification.id] if f.topic == "notification"
        ]
        worst = max(
            (o for o in outcomes if o in REQUIRED), key=lambda o: _SEVERITY[o], default=None
        )
        if worst is Outcome.late:
            row.late += 1
        elif worst is Outcome.required:
            row.required_undated += 1
        elif worst is Outcome.on_time:
            row.on_time += 1
        else:
            row.voluntary += 1
        if any(
            f.topic == Topic.constraint.value and f.outcome == Outcome.exceeded.value
            for f in findings[notification.id]
        ):
            row.constraints_broken.append(notification.id)
        if any(f.outcome == Outcome.incomplete.value for f in findings[notification.id]):
            row.incomplete.append(notification.id)
        invited = set(notification.observers_invited.split())
        others = set(parties) - {notification.state_code}
        if (
            any(
                f.topic == Topic.observation.value and f.outcome == Outcome.invite.value
                for f in findings[notification.id]
            )
            and others - invited
        ):
            row.observers_not_invited.append(notification.id)

    _missing(session, actor, rules, year, today, notifications, states)
    annual = list(
        session.scalars(
            repository.annual_visible(actor, [(code, year)]).where(
                AnnualData.rule_set == code, AnnualData.year == year
            )
        )
    )
    due = rules.annual_exchange.due_for(year) if rules.annual_exchange else None
    for data in annual:
        if data.state_code in states:
            states[data.state_code].annual_data = True
            states[data.state_code].annual_data_late = (
                None if due is None else data.submitted_on > due
            )
    _clarifications(session, under, states, datetime.now(UTC))

    return ComplianceReport(
        rule_set=code,
        title=rules.title.en,
        titles={k: v for k, v in rules.title.model_dump().items() if v},
        year=year,
        as_of=today,
        annual_data_due=due,
        states=list(states.values()),
        ceilings=ceilings(rules, parties, annual),
        quotas=_quotas(session, actor, rules, year, parties),
        gaps=[{"topic": g.topic, "cite": g.cite, "note": g.note} for g in rules.gaps],
    )


def _missing(
    session: Session,
    actor: Actor,
    rules: ruleset.RuleSet,
    year: int,
    today: date,
    notifications: list[Notification],
    states: dict[str, StateCompliance],
) -> None:
    """Planned activities the rules required notifying, begun by ``today``, never notified."""
    entries = session.scalars(
        repository.calendar_visible(actor).where(
            CalendarEntry.year == year, CalendarEntry.start <= today
        )
    )
    for entry in entries:
        row = states.get(entry.state_code)
        if row is None or rules.code not in entry.agreements.split():
            continue
        activity = Activity(
            state=entry.state_code,
            kind=ActivityKind(entry.kind),
            start=entry.start,
            end=entry.end,
            area=area_of(session, _LOCATION.validate_python(entry.location)),
            forces={Category(k): v for k, v in entry.forces.items()},
            notified_on=entry.submitted_on,
        )
        required = any(
            f.topic is Topic.notification and f.outcome in REQUIRED
            for f in engine.check(rules, activity)
        )
        notified = any(
            n.state_code == entry.state_code
            and n.kind == entry.kind
            and n.start <= entry.end
            and n.end >= entry.start
            for n in notifications
        )
        if required and not notified:
            row.missing.append(entry.id)


def _clarifications(
    session: Session,
    notifications: list[Notification],
    states: dict[str, StateCompliance],
    now: datetime,
) -> None:
    if not notifications:
        return
    by_id = {n.id: n for n in notifications}
    for request in session.scalars(
        select(Clarification).where(
            Clarification.notification_id.in_(list(by_id)), Clarification.answered_at.is_(None)
        )
    ):
        row = states.get(by_id[request.notification_id].state_code)
        if row is None:
            continue
        row.open_clarifications += 1
        due = utc(request.due_at)
        if due is not None and due < now:
            row.overdue_clarifications += 1


def _holding(data: AnnualData | None, category: str, sector: str | None) -> int | None:
    if data is None:
        return None
    entries = [h for h in data.holdings if h["category"] == category]
    if sector is not None:
        entries = [h for h in entries if h["sector"] == sector]
    elif any(h["sector"] is None for h in entries):
        # A total for the whole area is given: sector figures would count twice.
        entries = [h for h in entries if h["sector"] is None]
    return sum(int(str(h["count"])) for h in entries)


def ceilings(
    rules: ruleset.RuleSet, parties: Mapping[str, str | None], annual: list[AnnualData]
) -> list[CeilingCheck]:
    """Every ceiling of the regime against the annual data of the states it covers."""
    by_state = {a.state_code: a for a in annual}
    checks: list[CeilingCheck] = []
    for ceiling in rules.ceilings:
        groups: list[tuple[str | None, list[str]]]
        if ceiling.state is not None:
            groups = [(None, [ceiling.state])]
        elif ceiling.side is not None:
            groups = [(None, sorted(s for s, side in parties.items() if side == ceiling.side))]
        else:
            groups = [(state, [state]) for state in sorted(parties)]
        for each, covered in groups:
            if not covered:
                continue
            counts = {
                s: _holding(by_state.get(s), ceiling.category.value, ceiling.sector)
                for s in covered
            }
            missing = sorted(s for s, n in counts.items() if n is None)
            total = sum(n for n in counts.values() if n is not None)
            limit = ceiling.limit.value
            if limit is None:
                outcome = "unknown"
            elif total > limit:
                outcome = "exceeded"
            elif missing:
                outcome = "no-data"
            else:
                outcome = "held"
            checks.append(
                CeilingCheck(
                    rule=ceiling.id,
                    cite=ceiling.limit.cite,
                    side=ceiling.side,
                    state=ceiling.state or each,
                    sector=ceiling.sector,
                    category=ceiling.category.value,
                    limit=limit,
                    holding=None if len(missing) == len(covered) else total,
                    outcome=outcome,
                    missing=missing,
                )
            )
    return checks


def _quotas(
    session: Session,
    actor: Actor,
    rules: ruleset.RuleSet,
    year: int,
    parties: dict[str, str | None],
) -> list[QuotaUse]:
    requests = list(
        session.scalars(
            repository.verification_visible(actor, [(rules.code, year)]).where(
                VerificationRequest.rule_set == rules.code, VerificationRequest.year == year
            )
        )
    )
    uses: list[QuotaUse] = []
    for quota in rules.quotas:
        for state in sorted(parties):
            mine = [r for r in requests if r.kind == quota.kind and r.receiving_state == state]
            uses.append(
                QuotaUse(
                    rule=quota.id,
                    cite=quota.per_year.cite,
                    kind=quota.kind,
                    receiving_state=state,
                    sector=quota.sector,
                    per_year=quota.per_year.value,
                    used=sum(1 for r in mine if r.status in exchange.COUNTED),
                    refused=sum(1 for r in mine if r.status == "refused"),
                    beyond_quota=sum(1 for r in mine if r.beyond_quota),
                )
            )
    return uses


def as_csv(found: ComplianceReport) -> str:
    """The report in long form, one measure per line, for spreadsheets and analysis."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["rule_set", "year", "section", "state", "rule", "cite", "measure", "value"])
    base = [found.rule_set, found.year]
    for row in found.states:
        for measure in (
            "notifications",
            "on_time",
            "late",
            "required_undated",
            "voluntary",
            "annual_data",
            "open_clarifications",
            "overdue_clarifications",
        ):
            writer.writerow([*base, "state", row.state, "", "", measure, getattr(row, measure)])
        writer.writerow([*base, "state", row.state, "", "", "missing", len(row.missing)])
        writer.writerow(
            [
                *base,
                "state",
                row.state,
                "",
                "",
                "observers_not_invited",
                len(row.observers_not_invited),
            ]
        )
        writer.writerow(
            [*base, "state", row.state, "", "", "constraints_broken", len(row.constraints_broken)]
        )
        writer.writerow([*base, "state", row.state, "", "", "incomplete", len(row.incomplete)])
        writer.writerow(
            [*base, "state", row.state, "", "", "annual_data_late", row.annual_data_late]
        )
    for check in found.ceilings:
        whom = check.state or check.side or ""
        subject = f"{check.category}{'/' + check.sector if check.sector else ''}"
        writer.writerow(
            [*base, "ceiling", whom, check.rule, check.cite, f"{subject} limit", check.limit]
        )
        writer.writerow(
            [*base, "ceiling", whom, check.rule, check.cite, f"{subject} holding", check.holding]
        )
        writer.writerow(
            [*base, "ceiling", whom, check.rule, check.cite, f"{subject} outcome", check.outcome]
        )
    for use in found.quotas:
        writer.writerow(
            [*base, "quota", use.receiving_state, use.rule, use.cite, f"{use.kind} used", use.used]
        )
        writer.writerow(
            [
                *base,
                "quota",
                use.receiving_state,
                use.rule,
                use.cite,
                f"{use.kind} per_year",
                use.per_year,
            ]
        )
    return out.getvalue()


# Colours of the notification record's parts, as on the web page.
_PART_COLOURS = {
    "on_time": "#15803d",
    "late": "#b91c1c",
    "required_undated": "#b45309",
    "voluntary": "#93c5fd",
    "missing": "#111827",
}
_OUTCOME_COLOURS = {"held": "#15803d", "exceeded": "#b91c1c", "no-data": "#9ca3af"}


def as_pdf(found: ComplianceReport, gettext: Callable[[str], str], locale: str = "en") -> bytes:
    """The report as a printable PDF in ``locale`` (``gettext`` translating into it)."""
    t = gettext

    def word(value: str) -> str:
        return t(VOCABULARY.get(value, value))

    title = found.titles.get(locale) or found.title
    doc = Document(
        title=f"{t(_('Compliance'))}: {title}, {found.year}",
        subject=found.rule_set,
        cjk=locale == "zh",
    )
    doc.paragraph(
        t(_("Computed from the record on {date}; nothing in it is typed in.")).format(
            date=found.as_of
        ),
        note=True,
    )
    if found.annual_data_due is not None:
        doc.paragraph(
            t(_("Annual data due by {date}.")).format(date=found.annual_data_due), note=True
        )
    doc.heading(t(_("Notifications by state")))
    doc.bars(
        [
            Bar(
                s.state,
                [
                    (float(len(v) if isinstance(v := getattr(s, part), list) else v), colour)
                    for part, colour in _PART_COLOURS.items()
                ],
            )
            for s in found.states
        ]
    )
    doc.paragraph("  ".join(f"■ {word(part)}" for part in _PART_COLOURS), note=True)
    doc.table(
        [
            t(_("State")), t(_("Notifications")), t(_("On time")), t(_("Late")),
            t(_("Required, notice period not encoded")), t(_("Voluntary")), t(_("Missing")),
            t(_("Observers not invited")), t(_("Constraints broken")), t(_("Incomplete")),
            t(_("Annual data")),
            t(_("Open clarification requests")),
        ],
        [
            [
                s.state, s.notifications, s.on_time, s.late, s.required_undated, s.voluntary,
                len(s.missing), len(s.observers_not_invited), len(s.constraints_broken),
                len(s.incomplete),
                t(_("sent late")) if s.annual_data_late
                else t(_("sent")) if s.annual_data else t(_("not sent")),
                f"{s.open_clarifications}"
                + (f" ({t(_('{n} overdue')).format(n=s.overdue_clarifications)})" if s.overdue_clarifications else ""),
            ]
            for s in found.states
        ],
    )  # fmt: skip
    doc.heading(t(_("Ceilings")))
    if found.ceilings:
        doc.bars(
            [
                Bar(
                    f"{c.state or c.side} {c.sector or ''}".strip(),
                    [(float(c.holding or 0), _OUTCOME_COLOURS.get(c.outcome, "#9ca3af"))],
                    limit=c.limit,
                )
                for c in found.ceilings
            ]
        )
        doc.table(
            [t(_("Rule")), t(_("Whose forces")), t(_("Category")), t(_("Sector")),
             t(_("Limit")), t(_("Holding")), t(_("Outcome"))],
            [
                [
                    c.cite, c.state or c.side or "", word(c.category), c.sector or "—",
                    t(_("not read")) if c.limit is None else f"{c.limit:,.0f}",
                    "—" if c.holding is None else f"{c.holding:,}",
                    word(c.outcome)
                    + (f" ({t(_('no annual data from {states}')).format(states=', '.join(c.missing))})" if c.missing else ""),
                ]
                for c in found.ceilings
            ],
        )  # fmt: skip
    else:
        doc.paragraph(t(_("This regime encodes no ceilings.")))
    doc.heading(t(_("Verification quotas")))
    if found.quotas:
        doc.table(
            [t(_("Rule")), t(_("Kind")), t(_("Receiving state")), t(_("Quota per year")),
             t(_("Used")), t(_("Refused")), t(_("Requested beyond the quota"))],
            [
                [q.cite + (f" ({q.sector})" if q.sector else ""), word(q.kind), q.receiving_state,
                 t(_("not read")) if q.per_year is None else f"{q.per_year:g}",
                 q.used, q.refused, q.beyond_quota]
                for q in found.quotas
            ],
        )  # fmt: skip
    else:
        doc.paragraph(t(_("This regime encodes no verification quotas.")))
    if found.gaps:
        doc.heading(t(_("What this rule set does not encode")))
        for gap in found.gaps:
            doc.paragraph(f"{gap['cite']}: {gap['topic']}. {gap['note']}", note=True)
    return doc.render()
