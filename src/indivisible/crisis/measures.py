"""The three things the seed articles judge a collective operation by, made measurable from
the record: the speed of reaction (request to decision to arrival), the coherence of those
involved (who supported, pledged and deployed, and how much of what was pledged came), and
the speed of reaching the goal followed by an organised withdrawal (time to each task, the
mission and the withdrawal, against plan).

Nothing here is typed in: every figure is worked out from recorded moments and head
counts, and where the record holds a range (sources disagree on a contingent's size) the
figure is a range too. A figure whose moments are not recorded yet is None, never zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from indivisible.crisis.schemas import Measures, Range, Share, Span, Step, TaskMeasure


@dataclass(frozen=True)
class StepRecord:
    kind: Step
    at: datetime
    task: int | None = None
    plus_minus: int = 0


Moment = tuple[datetime, int]


@dataclass(frozen=True)
class ContingentRecord:
    state: str
    personnel_low: int | None
    personnel_high: int | None
    steps: Sequence[StepRecord] = ()

    def first(self, kind: Step) -> Moment | None:
        """When the contingent first reached ``kind``, with that moment's uncertainty."""
        return min(((s.at, s.plus_minus) for s in self.steps if s.kind is kind), default=None)


@dataclass(frozen=True)
class PledgeRecord:
    state: str
    personnel_low: int | None
    personnel_high: int | None


@dataclass(frozen=True)
class CrisisRecord:
    crisis: int
    affected_state: str
    organisation: str
    requested_at: datetime | None
    decided_at: datetime | None
    # Active members on the decision's date, other than the affected state.
    eligible: frozenset[str]
    in_favour: frozenset[str]
    requested_plus_minus: int = 0
    decided_plus_minus: int = 0
    tasks: Mapping[int, str] = field(default_factory=dict)
    pledges: Sequence[PledgeRecord] = ()
    contingents: Sequence[ContingentRecord] = ()
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    withdrawal_planned_start: datetime | None = None
    withdrawal_planned_end: datetime | None = None


def span(start: Moment | None, end: Moment | None) -> Span:
    if start is None or end is None:
        return Span(start=start[0] if start else None, end=end[0] if end else None, minutes=None)
    return Span(
        start=start[0],
        end=end[0],
        minutes=_minutes(end[0] - start[0]),
        plus_minus_minutes=start[1] + end[1],
    )


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _share(states: Iterable[str], eligible: frozenset[str]) -> Share:
    among = sorted(set(states) & eligible)
    return Share(
        count=len(among),
        of=len(eligible),
        share=len(among) / len(eligible) if eligible else None,
        states=among,
    )


def _all_reached(contingents: Sequence[ContingentRecord], kind: Step) -> Moment | None:
    """The moment the last contingent reached ``kind``, once every one of them has."""
    reached = [c.first(kind) for c in contingents]
    if not reached or any(r is None for r in reached):
        return None
    return max(r for r in reached if r is not None)


def _delay(actual: Moment | None, planned: datetime | None) -> int | None:
    return None if actual is None or planned is None else _minutes(actual[0] - planned)


def _head_count(rows: Sequence[ContingentRecord] | Sequence[PledgeRecord]) -> Range:
    """The summed range of reported head counts, naming those with no figure."""
    known = [r for r in rows if r.personnel_low is not None and r.personnel_high is not None]
    if not rows:
        return Range(low=None, high=None)
    return Range(
        low=sum(r.personnel_low or 0 for r in known),
        high=sum(r.personnel_high or 0 for r in known),
        unreported=sorted({r.state for r in rows} - {r.state for r in known}),
    )


def _fulfilled(pledges: Sequence[PledgeRecord], deployed: Sequence[ContingentRecord]) -> Range:
    """Personnel that came against personnel pledged, over the states for which both are
    reported: the range of the ratio when both sides are ranges."""
    if not pledges:
        return Range(low=None, high=None)
    came: dict[str, tuple[int, int] | None] = {}
    for c in deployed:
        so_far = came.get(c.state, (0, 0))
        if so_far is None or c.personnel_low is None or c.personnel_high is None:
            came[c.state] = None
        else:
            came[c.state] = (so_far[0] + c.personnel_low, so_far[1] + c.personnel_high)
    pairs = [
        ((p.personnel_low, p.personnel_high), counted)
        for p in pledges
        if p.personnel_low is not None
        and p.personnel_high is not None
        and (counted := came.get(p.state)) is not None
    ]
    counted_states = {
        p.state for p in pledges if p.personnel_low is not None and came.get(p.state) is not None
    }
    pledged_low = sum(p[0] for p, _c in pairs)
    pledged_high = sum(p[1] for p, _c in pairs)
    came_low = sum(c[0] for _p, c in pairs)
    came_high = sum(c[1] for _p, c in pairs)
    return Range(
        low=came_low / pledged_high if pledged_high else None,
        high=came_high / pledged_low if pledged_low else None,
        unreported=sorted({p.state for p in pledges} - counted_states),
    )


def compute(record: CrisisRecord) -> Measures:
    contingents = list(record.contingents)
    arrivals = [a for c in contingents if (a := c.first(Step.arrived)) is not None]
    departures = [d for c in contingents if (d := c.first(Step.departed)) is not None]
    withdrawals = [w for c in contingents if (w := c.first(Step.withdrawal_started)) is not None]
    first_arrival = min(arrivals, default=None)
    full_deployment = _all_reached(contingents, Step.arrived)
    first_withdrawal = min(withdrawals, default=None)
    all_home = _all_reached(contingents, Step.home)
    requested = (record.requested_at, record.requested_plus_minus) if record.requested_at else None
    decided = (record.decided_at, record.decided_plus_minus) if record.decided_at else None

    tasks = []
    for task_id, title in sorted(record.tasks.items()):
        takeovers = sorted(
            ((s.at, s.plus_minus), c.state)
            for c in contingents
            for s in c.steps
            if s.kind is Step.task_taken_over and s.task == task_id
        )
        tasks.append(
            TaskMeasure(
                task=task_id,
                title=title,
                taken_over_by=sorted({state for _at, state in takeovers}),
                from_decision=span(decided, takeovers[0][0] if takeovers else None),
            )
        )

    deployed = [c for c in contingents if c.first(Step.arrived) is not None]
    return Measures(
        crisis=record.crisis,
        affected_state=record.affected_state,
        organisation=record.organisation,
        request_to_decision=span(requested, decided),
        decision_to_first_arrival=span(decided, first_arrival),
        decision_to_full_deployment=span(decided, full_deployment),
        tasks=tasks,
        mission=span(first_arrival, first_withdrawal),
        withdrawal=span(first_withdrawal, all_home),
        operation=span(min(departures, default=None), all_home),
        eligible=sorted(record.eligible),
        supported=_share(record.in_favour, record.eligible),
        pledged=_share({p.state for p in record.pledges}, record.eligible),
        deployed=_share({c.state for c in deployed}, record.eligible),
        personnel_pledged=_head_count(record.pledges),
        personnel_deployed=_head_count(deployed),
        pledges_fulfilled=_fulfilled(record.pledges, deployed),
        start_delay_minutes=_delay(first_arrival, record.planned_start),
        end_delay_minutes=_delay(all_home, record.planned_end),
        withdrawal_start_delay_minutes=_delay(first_withdrawal, record.withdrawal_planned_start),
        withdrawal_end_delay_minutes=_delay(all_home, record.withdrawal_planned_end),
        complete=all_home is not None,
    )
