"""The exchanges of information a regime requires besides notifications: annual data on forces
in the area, calendars of planned activities, and inspections and evaluation visits counted
against the regime's quotas.

Who is a party in a year is the registry's answer on 1 January or on 31 December of it, so
that a state joining or leaving during the year is counted for that year.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from indivisible.audit.service import record_change
from indivisible.auth import submissions
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import SubmissionSignatureRead
from indivisible.auth.submissions import Submission
from indivisible.cbm import engine, events, repository, ruleset
from indivisible.cbm.engine import Activity, Topic
from indivisible.cbm.models import (
    AnnualData,
    CalendarEntry,
    CalendarRecipient,
    VerificationRequest,
)
from indivisible.cbm.schemas import (
    AnnualDataCreate,
    AnnualDataRead,
    CalendarCreate,
    CalendarEntryRead,
    VerificationCreate,
    VerificationDecision,
    VerificationRead,
    VerificationReport,
)
from indivisible.cbm.service import APPLIES, area_of, rule_set, rule_sets, utc
from indivisible.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from indivisible.i18n import _
from indivisible.registry import service as registry

# Verification requests that count against a quota.
COUNTED = frozenset({"accepted", "reported"})


def parties_in_year(session: Session, rules: ruleset.RuleSet, year: int) -> dict[str, str | None]:
    """The regime's active parties in a year, each with its side of the agreement.

    Asked once per document and per box row; not remembered here, because the registry
    already keeps its answer for each date for the rest of the transaction and knows when a
    write makes it stale."""
    found: dict[str, str | None] = {}
    for day in (date(year, 1, 1), date(year, 12, 31)):
        parties = registry.parties_on(session, rules.agreement, day)
        if parties.in_force:
            for party in parties.parties:
                if party.participation is None:
                    found.setdefault(party.state, party.side)
    return found


def party_years(
    session: Session, actor: Actor, pairs: Sequence[tuple[str, int]]
) -> list[tuple[str, int]]:
    """Of these (rule set, year) pairs, those in which the actor's state is a party."""
    known = {rules.code: rules for rules in rule_sets()}
    state = actor.state_code
    return [
        (code, year)
        for code, year in pairs
        if code in known and state in parties_in_year(session, known[code], year)
    ]


def _require_liaison(actor: Actor, message: str) -> str:
    if actor.role is not Role.liaison or actor.state_code is None:
        raise PermissionDenied(message, code="role_required")
    return actor.state_code


def _require_party(
    session: Session, rules: ruleset.RuleSet, state: str, year: int, field: str
) -> dict[str, str | None]:
    parties = parties_in_year(session, rules, year)
    if state not in parties:
        raise InvalidInput(
            _("{state} is not a party of {rule_set} in {year}."),
            code="not_a_party",
            field=field,
            params={"state": state, "rule_set": rules.code, "year": year},
        )
    return parties


def _sectors(rules: ruleset.RuleSet) -> set[str]:
    return {c.sector for c in rules.ceilings if c.sector} | {
        q.sector for q in rules.quotas if q.sector and q.sector != "each"
    }


# --- annual data -------------------------------------------------------------------------


def submit_annual_data(
    session: Session,
    actor: Actor,
    data: AnnualDataCreate,
    *,
    submission: Submission,
    submitted_on: date | None = None,
) -> AnnualData:
    """A party's liaison officer submits (or resubmits) its annual data under a regime."""
    state = _require_liaison(
        actor, _("Only a state's liaison officers submit its annual information.")
    )
    rules = rule_set(data.rule_set)
    _require_party(session, rules, state, data.year, "rule_set")
    sectors = _sectors(rules)
    for index, holding in enumerate(data.holdings):
        if holding.sector is not None and holding.sector not in sectors:
            raise InvalidInput(
                _("{rule_set} has no sector {sector}; its sectors are: {sectors}."),
                code="unknown_sector",
                field=f"holdings.{index}.sector",
                params={
                    "rule_set": rules.code,
                    "sector": holding.sector,
                    "sectors": ", ".join(sorted(sectors)) or "-",
                },
            )
    exchanged = rules.annual_exchange.categories if rules.annual_exchange else []
    for index, holding in enumerate(data.holdings):
        if exchanged and holding.category not in exchanged:
            raise InvalidInput(
                _("{rule_set} does not exchange {category}; it exchanges: {categories}."),
                code="category_not_exchanged",
                field=f"holdings.{index}.category",
                params={
                    "rule_set": rules.code,
                    "category": holding.category.value,
                    "categories": ", ".join(c.value for c in exchanged),
                },
            )
    holdings: list[dict[str, object]] = [
        {"sector": h.sector, "category": h.category.value, "count": h.count} for h in data.holdings
    ]
    now = datetime.now(UTC)
    row = session.scalars(
        select(AnnualData).where(
            AnnualData.rule_set == rules.code,
            AnnualData.state_code == state,
            AnnualData.year == data.year,
        )
    ).first()
    before = None if row is None else {"holdings": row.holdings}
    if row is None:
        row = AnnualData(
            rule_set=rules.code,
            state_code=state,
            year=data.year,
            holdings=holdings,
            submitted_on=submitted_on or now.date(),
            submitted_at=now,
            submitted_by=actor.principal_id,
        )
        session.add(row)
    else:
        row.holdings = holdings
        row.revised_at = now
    session.flush()
    record_change(
        session,
        actor,
        action="create" if before is None else "update",
        subject_type="cbm_annual_data",
        subject_key=f"{rules.code}/{state}/{data.year}",
        before=before,
        after={"holdings": holdings},
    )
    submissions.attest(
        session, actor, kind="cbm.annual_data", subject_key=str(row.id), state=state,
        signature=data.signature, submission=submission,
    )  # fmt: skip
    return row


def _exchanged(
    session: Session,
    actor: Actor,
    model: type[AnnualData] | type[VerificationRequest],
    rule_set_code: str | None,
    year: int | None,
) -> Select[Any]:
    """Rows of an exchange table the actor may see, narrowed to a regime and year if given.

    Which (regime, year) pairs make the actor's state a party is a registry question, asked
    once per pair present in the table; the answer is then applied inside the query."""
    narrowing = [
        *([model.rule_set == rule_set_code] if rule_set_code is not None else []),
        *([model.year == year] if year is not None else []),
    ]
    pairs = [
        (code, y)
        for code, y in session.execute(
            select(model.rule_set, model.year).distinct().where(*narrowing)
        )
    ]
    allowed = party_years(session, actor, pairs)
    visible = (
        repository.annual_visible(actor, allowed)
        if model is AnnualData
        else repository.verification_visible(actor, allowed)
    )
    return visible.where(*narrowing)


def annual_data(
    session: Session, actor: Actor, *, rule_set_code: str | None = None, year: int | None = None
) -> list[AnnualData]:
    """Annual data the actor may see: its own state's, and that of regimes it is a party of."""
    stmt = _exchanged(session, actor, AnnualData, rule_set_code, year)
    return list(
        session.scalars(stmt.order_by(AnnualData.year, AnnualData.rule_set, AnnualData.state_code))
    )


def annual_reads(session: Session, rows: list[AnnualData]) -> list[AnnualDataRead]:
    """Annual data with who signed each, in one query for the signatures."""
    signed = submissions.reads(session, "cbm.annual_data", [str(row.id) for row in rows])
    return [annual_read(row, signed.get(str(row.id))) for row in rows]


def annual_read(
    row: AnnualData, signature: SubmissionSignatureRead | None = None
) -> AnnualDataRead:
    return AnnualDataRead(
        id=row.id,
        rule_set=row.rule_set,
        state=row.state_code,
        year=row.year,
        holdings=row.holdings,
        submitted_on=row.submitted_on,
        submitted_at=utc(row.submitted_at) or row.submitted_at,
        revised_at=utc(row.revised_at),
        signature=signature,
    )


# --- calendars ---------------------------------------------------------------------------


def submit_calendar(
    session: Session, actor: Actor, data: CalendarCreate, *, submitted_on: date | None = None
) -> list[CalendarEntry]:
    """A state's liaison officer sends planned activities; each goes to the other parties of
    every regime in force whose area it lies in."""
    state = _require_liaison(actor, _("Only a state's liaison officers submit its calendar."))
    now = datetime.now(UTC)
    day = submitted_on or now.date()
    entries: list[CalendarEntry] = []
    for index, planned in enumerate(data.activities):
        area = area_of(session, planned.location, field=f"activities.{index}.location")
        activity = Activity(
            state=state,
            kind=planned.kind,
            start=planned.start,
            end=planned.end,
            area=area,
            forces=dict(planned.forces),
            notified_on=day,
        )
        agreements: set[str] = set()
        recipients: set[str] = set()
        for rules in rule_sets():
            parties = parties_in_year(session, rules, planned.start.year)
            if state not in parties:
                continue
            found = engine.check(rules, activity)
            if any(f.topic is Topic.area and f.outcome in APPLIES for f in found):
                agreements.add(rules.code)
                recipients |= set(parties) - {state}
        entry = CalendarEntry(
            state_code=state,
            year=data.year,
            kind=planned.kind.value,
            start=planned.start,
            end=planned.end,
            location=planned.location.model_dump(mode="json"),
            forces={category.value: count for category, count in planned.forces.items()},
            purpose=planned.purpose,
            agreements=" ".join(sorted(agreements)),
            submitted_on=day,
            submitted_at=now,
            submitted_by=actor.principal_id,
        )
        session.add(entry)
        session.flush()
        session.add_all(
            CalendarRecipient(entry_id=entry.id, state_code=code) for code in sorted(recipients)
        )
        events.emit(session, recipients, "calendar", entry.id, state)
        entries.append(entry)
    session.flush()
    record_change(
        session,
        actor,
        action="create",
        subject_type="cbm_calendar",
        subject_key=f"{state}/{data.year}",
        before=None,
        after={"entries": [e.id for e in entries]},
    )
    return entries


def calendar(session: Session, actor: Actor, *, year: int | None = None) -> list[CalendarEntry]:
    stmt = repository.calendar_visible(actor)
    if year is not None:
        stmt = stmt.where(CalendarEntry.year == year)
    return list(session.scalars(stmt.order_by(CalendarEntry.start, CalendarEntry.id)))


def calendar_read(row: CalendarEntry) -> CalendarEntryRead:
    return CalendarEntryRead(
        id=row.id,
        state=row.state_code,
        year=row.year,
        kind=row.kind,
        start=row.start,
        end=row.end,
        location=row.location,
        forces=row.forces,
        purpose=row.purpose,
        agreements=row.agreements.split(),
        submitted_on=row.submitted_on,
    )


# --- verification ------------------------------------------------------------------------


def _quotas(rules: ruleset.RuleSet, kind: str) -> list[ruleset.Quota]:
    # Which period a quota belongs to ("during: reduction" or after) has no dates in the
    # files, so every quota of the kind may apply and the largest decides "beyond quota".
    return [q for q in rules.quotas if q.kind == kind]


def quota_used(
    session: Session, rules: ruleset.RuleSet, kind: str, receiving: str, year: int
) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                VerificationRequest.rule_set == rules.code,
                VerificationRequest.kind == kind,
                VerificationRequest.receiving_state == receiving,
                VerificationRequest.year == year,
                VerificationRequest.status.in_(COUNTED),
            )
        )
        or 0
    )


def request_verification(
    session: Session, actor: Actor, data: VerificationCreate
) -> VerificationRequest:
    """A party asks another for an inspection or evaluation visit under a regime's quota."""
    state = _require_liaison(
        actor, _("Only a state's liaison officers request inspections and visits.")
    )
    rules = rule_set(data.rule_set)
    year = data.visit_on.year
    parties = _require_party(session, rules, state, year, "rule_set")
    if data.receiving_state == state or data.receiving_state not in parties:
        raise InvalidInput(
            _("{state} is not another party of {rule_set} in {year}."),
            code="not_a_party",
            field="receiving_state",
            params={"state": data.receiving_state, "rule_set": rules.code, "year": year},
        )
    quotas = _quotas(rules, data.kind)
    if not quotas:
        raise InvalidInput(
            _("{rule_set} encodes no quota of this kind of verification."),
            code="no_quota",
            field="kind",
            params={"rule_set": rules.code},
        )
    used = quota_used(session, rules, data.kind, data.receiving_state, year)
    limits = [q.per_year.value for q in quotas if q.per_year.value is not None]
    now = datetime.now(UTC)
    row = VerificationRequest(
        rule_set=rules.code,
        kind=data.kind,
        requesting_state=state,
        receiving_state=data.receiving_state,
        sector=data.sector,
        year=year,
        visit_on=data.visit_on,
        status="requested",
        # The receiving state need not accept beyond the largest quota that may apply.
        beyond_quota=bool(limits) and used >= max(limits),
        requested_at=now,
        requested_by=actor.principal_id,
    )
    session.add(row)
    session.flush()
    events.emit(session, [data.receiving_state], "verification", row.id, state)
    record_change(
        session,
        actor,
        action="create",
        subject_type="cbm_verification",
        subject_key=str(row.id),
        before=None,
        after={"kind": data.kind, "receiving": data.receiving_state, "year": year},
    )
    return row


def _visible_verification(session: Session, actor: Actor, request_id: int) -> VerificationRequest:
    row = session.get(VerificationRequest, request_id)
    if row is not None:
        allowed = party_years(session, actor, [(row.rule_set, row.year)])
        visible = session.scalars(
            repository.verification_visible(actor, allowed).where(
                VerificationRequest.id == request_id
            )
        ).first()
        if visible is not None:
            return visible
    raise NotFound(
        _("No verification request {id}."), code="unknown_verification", params={"id": request_id}
    )


def decide_verification(
    session: Session, actor: Actor, request_id: int, data: VerificationDecision
) -> VerificationRequest:
    """The receiving state accepts, or refuses with its grounds."""
    row = _visible_verification(session, actor, request_id)
    if actor.role is not Role.liaison or actor.state_code != row.receiving_state:
        raise PermissionDenied(
            _("Only the receiving state's liaison officers accept or refuse a request."),
            code="not_the_receiver",
        )
    if row.status != "requested":
        raise Conflict(
            _("This request was decided already."), code="already_decided", field="accept"
        )
    if not data.accept and not (data.grounds or "").strip():
        raise InvalidInput(
            _("A refusal gives its grounds."), code="grounds_required", field="grounds"
        )
    row.status = "accepted" if data.accept else "refused"
    row.grounds = data.grounds
    row.decided_at = datetime.now(UTC)
    row.decided_by = actor.principal_id
    session.flush()
    events.emit(session, [row.requesting_state], "decision", row.id, row.receiving_state)
    record_change(
        session,
        actor,
        action="decide",
        subject_type="cbm_verification",
        subject_key=str(row.id),
        before={"status": "requested"},
        after={"status": row.status},
    )
    return row


def report_verification(
    session: Session, actor: Actor, request_id: int, data: VerificationReport
) -> VerificationRequest:
    """The requesting state files the report of an accepted inspection or visit."""
    row = _visible_verification(session, actor, request_id)
    if actor.role is not Role.liaison or actor.state_code != row.requesting_state:
        raise PermissionDenied(
            _("Only the requesting state's liaison officers report on a visit."),
            code="not_the_requester",
        )
    if row.status != "accepted":
        raise Conflict(
            _("Only an accepted request is reported, once."),
            code="not_accepted",
            field="report",
        )
    row.status = "reported"
    row.report = data.report
    row.reported_at = datetime.now(UTC)
    session.flush()
    events.emit(session, [row.receiving_state], "report", row.id, row.requesting_state)
    record_change(
        session,
        actor,
        action="report",
        subject_type="cbm_verification",
        subject_key=str(row.id),
        before={"status": "accepted"},
        after={"status": "reported"},
    )
    return row


def verifications(
    session: Session, actor: Actor, *, rule_set_code: str | None = None, year: int | None = None
) -> list[VerificationRequest]:
    stmt = _exchanged(session, actor, VerificationRequest, rule_set_code, year)
    return list(session.scalars(stmt.order_by(VerificationRequest.id)))


def verification_read(row: VerificationRequest) -> VerificationRead:
    return VerificationRead(
        id=row.id,
        rule_set=row.rule_set,
        kind=row.kind,
        requesting_state=row.requesting_state,
        receiving_state=row.receiving_state,
        sector=row.sector,
        year=row.year,
        visit_on=row.visit_on,
        status=row.status,
        beyond_quota=row.beyond_quota,
        grounds=row.grounds,
        report=row.report,
        requested_at=utc(row.requested_at) or row.requested_at,
        decided_at=utc(row.decided_at),
        reported_at=utc(row.reported_at),
    )
