"""What a crisis looks like on one page and on paper: the timeline (a Gantt-like chart of
the request, the decision and each contingent's transit, time on task and withdrawal) and
the printable report with the measures, both drawn from the record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from indivisible.crisis.schemas import CrisisRead, Measures, Range, Share, Span
from indivisible.crisis.vocabulary import word
from indivisible.i18n import _
from indivisible.pdf import Bar, Document

WIDTH = 1000.0


@dataclass
class Segment:
    x: float
    width: float
    kind: str
    title: str


@dataclass
class Mark:
    x: float
    kind: str
    title: str


@dataclass
class Row:
    label: str
    segments: list[Segment] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)


@dataclass
class Timeline:
    start: datetime
    end: datetime
    rows: list[Row]
    ticks: list[tuple[float, str]]


def _moments(crisis: CrisisRead) -> list[datetime]:
    found = [r.requested_at for r in crisis.requests]
    found += [d.decided_at for d in crisis.decisions if d.decided_at is not None]
    found += [c.held.utc for c in crisis.consultations]
    if crisis.operation is not None:
        found += [e.at.utc for c in crisis.operation.contingents for e in c.events]
        plan = crisis.operation.withdrawal_plan
        if plan is not None:
            found += [plan.planned_start.utc, plan.planned_end.utc]
    return found


def timeline(crisis: CrisisRead, now: datetime | None = None) -> Timeline | None:
    """The chart's rows on a scale of WIDTH units from the request to the last recorded
    moment (or now, while contingents are still out)."""
    moments = _moments(crisis)
    if not moments:
        return None
    start = min(moments)
    ongoing = crisis.operation is not None and any(
        c.status not in (None, "home") for c in crisis.operation.contingents
    )
    end = max([*moments, *([now or datetime.now(UTC)] if ongoing else [])])
    if end - start < timedelta(hours=1):
        end = start + timedelta(hours=1)
    total = (end - start).total_seconds()

    def x(at: datetime) -> float:
        return round(WIDTH * (at - start).total_seconds() / total, 1)

    def segment(a: datetime, b: datetime, kind: str, title: str) -> Segment:
        return Segment(x(a), max(x(b) - x(a), 1.0), kind, title)

    rows: list[Row] = []
    decision_row = Row(label=_("Request and decision"))
    request = crisis.requests[0] if crisis.requests else None
    decided = next((d for d in crisis.decisions if d.decided_at is not None), None)
    if request is not None:
        decision_row.marks.append(Mark(x(request.requested_at), "request", request.requested_local))
        if decided is not None and decided.decided_at is not None:
            decision_row.segments.append(
                segment(
                    request.requested_at,
                    decided.decided_at,
                    "decision",
                    decided.decided_local or "",
                )
            )
    for consultation in crisis.consultations:
        decision_row.marks.append(
            Mark(x(consultation.held.utc), "consultation", consultation.held.local)
        )
    rows.append(decision_row)

    operation = crisis.operation
    if operation is not None:
        plan = operation.withdrawal_plan
        if plan is not None:
            rows.append(
                Row(
                    label=_("Withdrawal plan"),
                    segments=[
                        segment(
                            plan.planned_start.utc,
                            plan.planned_end.utc,
                            "plan",
                            f"{plan.planned_start.local} – {plan.planned_end.local}",
                        )
                    ],
                )
            )
        for contingent in operation.contingents:
            row = Row(label=f"{contingent.state} · {contingent.name}")
            at = {e.kind: e.at for e in reversed(contingent.events)}
            phases = (
                ("departed", "arrived", "transit"),
                ("arrived", "withdrawal-started", "on-task"),
                ("withdrawal-started", "home", "withdrawal"),
            )
            for begin, finish, kind in phases:
                if begin in at:
                    stop = at[finish].utc if finish in at else end
                    row.segments.append(
                        segment(at[begin].utc, stop, kind, f"{at[begin].local} – "
                                + (at[finish].local if finish in at else "…"))
                    )  # fmt: skip
            row.marks += [
                Mark(x(e.at.utc), "task", e.at.local)
                for e in contingent.events
                if e.kind == "task-taken-over"
            ]
            rows.append(row)

    days = max(int(total // 86400), 1)
    step = 1 if days <= 31 else 7 if days <= 180 else 30
    first = datetime(start.year, start.month, start.day, tzinfo=UTC) + timedelta(days=1)
    ticks = []
    tick = first
    while tick <= end:
        ticks.append((x(tick), tick.date().isoformat()))
        tick += timedelta(days=step)
    return Timeline(start=start, end=end, rows=rows, ticks=ticks)


def duration(span: Span, gettext: Callable[[str], str]) -> str:
    """A span in days, hours and minutes, with its uncertainty."""
    if span.minutes is None:
        return "—"

    def words(minutes: int) -> str:
        sign = "-" if minutes < 0 else ""
        days, rest = divmod(abs(minutes), 1440)
        hours, mins = divmod(rest, 60)
        parts = []
        if days:
            parts.append(gettext(_("{n} d")).format(n=days))
        if hours:
            parts.append(gettext(_("{n} h")).format(n=hours))
        if mins or not parts:
            parts.append(gettext(_("{n} min")).format(n=mins))
        return sign + " ".join(parts)

    text = words(span.minutes)
    if span.plus_minus_minutes:
        text += " ± " + words(span.plus_minus_minutes)
    return text


def share(value: Share) -> str:
    return f"{value.count}/{value.of}" + (f" ({', '.join(value.states)})" if value.states else "")


def head_count(value: Range, gettext: Callable[[str], str]) -> str:
    if value.low is None:
        return "—"
    text = f"{value.low:,.0f}" if value.low == value.high else f"{value.low:,.0f}–{value.high:,.0f}"
    if value.unreported:
        text += " " + gettext(_("(not reported: {states})")).format(
            states=", ".join(value.unreported)
        )
    return text


def ratio(value: Range, gettext: Callable[[str], str]) -> str:
    if value.low is None and value.high is None:
        return "—"
    low = "?" if value.low is None else f"{value.low:.0%}"
    high = "?" if value.high is None else f"{value.high:.0%}"
    text = low if low == high else f"{low}–{high}"
    if value.unreported:
        text += " " + gettext(_("(not reported: {states})")).format(
            states=", ".join(value.unreported)
        )
    return text


def delay(minutes: int | None, gettext: Callable[[str], str]) -> str:
    if minutes is None:
        return "—"
    return duration(Span(start=None, end=None, minutes=minutes), gettext)


def measure_rows(m: Measures, gettext: Callable[[str], str]) -> list[tuple[str, str]]:
    """The measures as (label, value) pairs, in the order the seed articles judge by."""
    t = gettext
    rows = [
        (t(_("Request to decision")), duration(m.request_to_decision, t)),
        (t(_("Decision to first arrival")), duration(m.decision_to_first_arrival, t)),
        (t(_("Decision to full deployment")), duration(m.decision_to_full_deployment, t)),
    ]
    rows += [
        (
            t(_("Decision to task taken over: {task}")).format(task=task.title),
            duration(task.from_decision, t),
        )
        for task in m.tasks
    ]
    rows += [
        (t(_("Mission (first arrival to start of withdrawal)")), duration(m.mission, t)),
        (t(_("Withdrawal (start to last contingent home)")), duration(m.withdrawal, t)),
        (t(_("Operation (first departure to last home)")), duration(m.operation, t)),
        (t(_("Members that supported")), share(m.supported)),
        (t(_("Members that pledged")), share(m.pledged)),
        (t(_("Members that deployed")), share(m.deployed)),
        (t(_("Personnel pledged")), head_count(m.personnel_pledged, t)),
        (t(_("Personnel deployed")), head_count(m.personnel_deployed, t)),
        (t(_("Pledges fulfilled")), ratio(m.pledges_fulfilled, t)),
        (t(_("Start against plan")), delay(m.start_delay_minutes, t)),
        (t(_("End against plan")), delay(m.end_delay_minutes, t)),
        (t(_("Withdrawal start against plan")), delay(m.withdrawal_start_delay_minutes, t)),
        (t(_("Withdrawal end against plan")), delay(m.withdrawal_end_delay_minutes, t)),
    ]  # fmt: skip
    return rows


_PHASE_COLOURS = {"transit": "#93c5fd", "on-task": "#2563eb", "withdrawal": "#f59e0b"}


def as_pdf(
    crisis: CrisisRead, measures: Measures, gettext: Callable[[str], str], locale: str = "en"
) -> bytes:
    """The crisis on paper: what happened, the measures, the contributions and the record."""
    t = gettext
    doc = Document(
        title=t(_("Crisis {id}: {state}, {organisation}")).format(
            id=crisis.id, state=crisis.affected_state, organisation=crisis.organisation
        ),
        subject=crisis.kind,
        cjk=locale == "zh",
    )
    doc.paragraph(crisis.summary)
    doc.paragraph(
        t(
            _(
                "Computed from the record; moments known only to the hour or day carry their uncertainty (±)."
            )
        ),
        note=True,
    )
    doc.heading(t(_("Measures")))
    doc.table([t(_("Measure")), t(_("Value"))], measure_rows(measures, t), weights=[2, 3])
    operation = crisis.operation
    if operation is not None:
        doc.heading(t(_("Operation")))
        doc.table(
            [t(_("Name")), t(_("Commander")), t(_("Area")), t(_("Mandate"))],
            [[operation.name, operation.commander or "—", operation.area, operation.mandate.split("\n\n")[0]]],
            weights=[2, 2, 2, 4],
        )  # fmt: skip
        chart = timeline(crisis)
        if chart is not None:
            doc.heading(t(_("Timeline")))
            total = (chart.end - chart.start).total_seconds() / 3600
            bars = []
            for contingent in operation.contingents:
                at = {e.kind: e.at.utc for e in reversed(contingent.events)}
                parts: list[tuple[float, str]] = []
                cursor = chart.start
                for begin, finish, kind in (
                    ("departed", "arrived", "transit"),
                    ("arrived", "withdrawal-started", "on-task"),
                    ("withdrawal-started", "home", "withdrawal"),
                ):
                    if begin in at:
                        parts.append(((at[begin] - cursor).total_seconds() / 3600, "#ffffff"))
                        stop = at.get(finish, chart.end)
                        parts.append(
                            ((stop - at[begin]).total_seconds() / 3600, _PHASE_COLOURS[kind])
                        )
                        cursor = stop
                bars.append(Bar(f"{contingent.state} {contingent.name[:18]}", parts, limit=total))
            doc.bars(bars)
            doc.paragraph(
                f"{chart.start.date().isoformat()} – {chart.end.date().isoformat()}  "
                f"■ {t(_('in transit'))}  ■ {t(_('on task'))}  ■ {t(_('withdrawing'))}",
                note=True,
            )
        doc.heading(t(_("Contributions by state")))
        doc.table(
            [t(_("State")), t(_("Pledged")), t(_("Contingent")), t(_("Deployed")), t(_("Equipment")), t(_("Last step"))],
            [
                [
                    c.state,
                    next((people(p.personnel_low, p.personnel_high, t) for p in operation.pledges if p.state == c.state), "—"),
                    c.name,
                    people(c.personnel_low, c.personnel_high, t),
                    ", ".join(f"{k}: {v}" for k, v in c.equipment.items()) or "—",
                    word(c.status, t),
                ]
                for c in operation.contingents
            ],
            weights=[1, 1.5, 4, 1.5, 2.5, 1.5],
        )  # fmt: skip
        doc.heading(t(_("Record")))
        doc.table(
            [t(_("When (local)")), t(_("Who")), t(_("Step")), t(_("Where")), t(_("Sources and notes"))],
            sorted(
                [
                    [e.at.local + (f" ±{e.at.plus_minus_minutes} min" if e.at.plus_minus_minutes else ""),
                     f"{c.state} · {c.name}", word(e.kind, t), e.place or "", e.note or ""]
                    for c in operation.contingents
                    for e in c.events
                ]
            ),
            weights=[2, 3, 1.5, 1.5, 6],
        )  # fmt: skip
    return doc.render()


def people(low: int | None, high: int | None, gettext: Callable[[str], str]) -> str:
    if low is None or high is None:
        return gettext(_("not reported"))
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"
