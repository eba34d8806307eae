"""Loading the shipped reference data: idempotent, one fact at a time, every refusal explained.

Each fact is applied in a savepoint, so a refused fact leaves nothing behind while the rest of the
load goes ahead in the caller's single transaction (or is abandoned whole with ``strict``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from indivisible.audit.service import record_change, snapshot
from indivisible.auth.principal import Actor
from indivisible.errors import IndivisibleError
from indivisible.registry import service
from indivisible.registry.datafile import (
    AgreementEntry,
    BodyEntry,
    DataFile,
    FuzzyDate,
    MembershipEntry,
    Names,
    OrganisationEntry,
    ParsedFiles,
    Seat,
    SourceEntry,
    data_paths,
    parse_files,
)
from indivisible.registry.models import Agreement, Body, Border, Membership, State
from indivisible.registry.schemas import (
    AgreementCreate,
    BodyCreate,
    BorderCreate,
    MembershipCreate,
    OrganisationCreate,
    SourceCreate,
)
from indivisible.registry.states import CLDR_SOURCE_KEY, ISO_SOURCE_KEY, iso_states
from indivisible.registry.states import sources as state_sources


@dataclass
class Refusal:
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class LoadReport:
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    refused: list[Refusal] = field(default_factory=list)

    def count(self, kind: str, outcome: str) -> None:
        self.counts[kind][outcome] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": {kind: dict(c) for kind, c in sorted(self.counts.items())},
            "refused": [{"where": r.where, "reason": r.reason} for r in self.refused],
        }


def _day(value: FuzzyDate | None) -> Any:
    return value.day if value else None


def _precision(value: FuzzyDate | None) -> str:
    return value.precision.value if value else "day"


def _names(names: Names) -> dict[str, str | None]:
    return names.model_dump()


def _seat(seat: Seat | None) -> tuple[str | None, str | None]:
    return (seat.state, seat.city) if seat else (None, None)


def _explain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
        )
    if isinstance(exc, IndivisibleError):
        return f"{exc.field}: {exc.text()}" if exc.field else exc.text()
    raise exc


PutFn = Callable[..., tuple[Any, service.Outcome]]


class _Loader:
    def __init__(self, session: Session, actor: Actor, report: LoadReport) -> None:
        self.session = session
        self.actor = actor
        self.report = report
        # (kind, natural key) -> the file that defined it first, so a second definition is refused.
        self.defined: dict[tuple[str, str], str] = {}

    def refuse(self, kind: str, where: str, reason: str) -> None:
        self.report.refused.append(Refusal(where, reason))
        self.report.count(kind, "refused")

    def attempt(
        self,
        kind: str,
        where: str,
        schema: type[BaseModel],
        fields: dict[str, Any],
        put: PutFn,
        *,
        key: str | None = None,
        origin: str | None = None,
    ) -> bool:
        """Validate one fact and apply it in a savepoint; a refusal is recorded, never raised."""
        if key is not None and origin is not None:
            first = self.defined.get((kind, key))
            if first is not None:
                self.refuse(
                    kind, where, f"{kind} {key} is defined more than once (first in {first})"
                )
                return False
            self.defined[(kind, key)] = origin
        try:
            data = schema.model_validate(fields)
            with self.session.begin_nested():
                if origin is None:
                    _, outcome = put(self.session, self.actor, data)
                else:
                    _, outcome = put(self.session, self.actor, data, origin=origin)
        except (ValidationError, IndivisibleError) as exc:
            self.refuse(kind, where, _explain(exc))
            return False
        self.report.count(kind, outcome.value)
        return True

    def states(self) -> None:
        for source in state_sources():
            self.attempt(
                "source",
                f"source {source.key}",
                SourceCreate,
                source.model_dump(),
                service.put_source,
            )
        existing = {s.code: s for s in self.session.scalars(select(State))}
        for iso in iso_states():
            values = asdict(iso)
            row = existing.get(iso.code)
            before = snapshot(row) if row is not None else None
            if row is None:
                row = State(**values)
                self.session.add(row)
            else:
                for name, value in values.items():
                    setattr(row, name, value)
            self.session.flush()
            after = snapshot(row)
            outcome = "added" if before is None else "changed" if before != after else "unchanged"
            if outcome != "unchanged":
                record_change(
                    self.session,
                    self.actor,
                    action="create" if before is None else "update",
                    subject_type="state",
                    subject_key=iso.code,
                    before=before,
                    after=after,
                )
            self.report.count("state", outcome)
            service.cite(self.session, "state", iso.code, [ISO_SOURCE_KEY, CLDR_SOURCE_KEY])

    def sources(self, files: list[tuple[str, DataFile]]) -> None:
        seen: dict[str, tuple[str, SourceEntry]] = {}
        for name, data in files:
            for key, entry in data.sources.items():
                where = f"{name}: source {key}"
                if key in seen and seen[key][1] != entry:
                    self.report.refused.append(
                        Refusal(where, f"key already used with other content in {seen[key][0]}")
                    )
                    self.report.count("source", "refused")
                    continue
                seen[key] = (name, entry)
                fields = entry.model_dump()
                fields.update(key=key, accessed=entry.accessed.day)
                self.attempt("source", where, SourceCreate, fields, service.put_source)

    def organisations(self, files: list[tuple[str, DataFile]]) -> None:
        accepted: list[tuple[str, OrganisationEntry]] = []
        for name, data in files:
            for org in data.organisations:
                ok = self.attempt(
                    "organisation",
                    f"{name}: organisation {org.code}",
                    OrganisationCreate,
                    _organisation_fields(org),
                    service.put_organisation,
                    key=org.code,
                    origin=name,
                )
                if ok:
                    accepted.append((name, org))
                    continue
                # Its bodies and memberships cannot be placed: say so rather than drop them silently.
                for body in org.bodies:
                    self.refuse(
                        "body", f"{name}: body {body.code}", f"organisation {org.code} was refused"
                    )
                for m in org.memberships:
                    self.refuse(
                        "membership",
                        f"{name}: membership {m.state} in {org.code} from {m.from_.day.isoformat()}",
                        f"organisation {org.code} was refused",
                    )
        # Bodies and memberships come after every organisation, so files may refer to each other.
        for name, org in accepted:
            for body in org.bodies:
                self.attempt(
                    "body",
                    f"{name}: body {body.code}",
                    BodyCreate,
                    _body_fields(org.code, body),
                    service.put_body,
                    key=body.code,
                    origin=name,
                )
            by_state: dict[str, list[MembershipEntry]] = defaultdict(list)
            for m in org.memberships:
                by_state[m.state].append(m)
            for state, periods in by_state.items():
                self.replace_periods(name, org.code, state, periods)

    def replace_periods(
        self, origin: str, organisation: str, state: str, periods: list[MembershipEntry]
    ) -> None:
        """A state's periods in an organisation, as a file gives them, replace what the same
        file gave before — all of them or none, so a refused correction never loses a period."""
        wanted = {p.from_.day for p in periods}
        outcomes: list[str] = []
        refusals: list[Refusal] = []
        removed = 0
        group = self.session.begin_nested()
        try:
            stale = self.session.scalars(
                select(Membership).where(
                    Membership.organisation_code == organisation,
                    Membership.state_code == state,
                    Membership.origin == origin,
                )
            ).all()
            # The old periods go first, so that a corrected start date does not overlap them.
            for row in stale:
                if row.valid_from not in wanted:
                    service.delete_membership(self.session, self.actor, row.id)
                    removed += 1
            for m in periods:
                start = m.from_.day.isoformat()
                where = f"{origin}: membership {state} in {organisation} from {start}"
                key = ("membership", f"{organisation}/{state}/{start}")
                if key in self.defined:
                    refusals.append(
                        Refusal(
                            where,
                            f"membership {key[1]} is defined more than once (first in {self.defined[key]})",
                        )
                    )
                    continue
                self.defined[key] = origin
                try:
                    data = MembershipCreate.model_validate(_membership_fields(organisation, m))
                    with self.session.begin_nested():
                        _, outcome = service.put_membership(
                            self.session, self.actor, data, origin=origin
                        )
                    outcomes.append(outcome.value)
                except (ValidationError, IndivisibleError) as exc:
                    refusals.append(Refusal(where, _explain(exc)))
        except BaseException:
            group.rollback()
            raise
        if not refusals:
            group.commit()
            for applied in outcomes:
                self.report.count("membership", applied)
            self.report.counts["membership"]["removed"] += removed
            return
        group.rollback()
        for refusal in refusals:
            self.refuse("membership", refusal.where, refusal.reason)
        for _ in range(len(periods) - len(refusals)):
            self.refuse(
                "membership",
                f"{origin}: membership {state} in {organisation}",
                "not applied: another period of this state in this organisation was refused, "
                "so its periods stay as they were",
            )

    def agreements(self, files: list[tuple[str, DataFile]]) -> None:
        for name, data in files:
            for agreement in data.agreements:
                self.attempt(
                    "agreement",
                    f"{name}: agreement {agreement.code}",
                    AgreementCreate,
                    _agreement_fields(agreement),
                    service.put_agreement,
                    key=agreement.code,
                    origin=name,
                )

    def borders(self, files: list[tuple[str, DataFile]]) -> None:
        for name, data in files:
            for border in data.borders:
                self.attempt(
                    "border",
                    f"{name}: border {'-'.join(border.states)}",
                    BorderCreate,
                    border.model_dump(),
                    service.put_border,
                    key="-".join(sorted(border.states)),
                    origin=name,
                )

    def prune(self, files: list[tuple[str, DataFile]]) -> None:
        """Remove what these files once said and say no longer (a dropped fact; a corrected
        membership period is replaced in ``replace_periods`` instead).

        Only facts loaded from these very files are touched: facts entered through the API, and
        facts of files that failed to parse, stay.
        """
        names = [name for name, _ in files]
        # Periods of a pair still in the files are replaced with their pair (replace_periods).
        pairs = {
            (o.code, m.state) for _, d in files for o in d.organisations for m in o.memberships
        }
        agreements = {a.code for _, d in files for a in d.agreements}
        borders = {tuple(sorted(b.states)) for _, d in files for b in d.borders}
        bodies = {b.code for _, d in files for o in d.organisations for b in o.bodies}
        for row in self.session.scalars(
            select(Membership).where(Membership.origin.in_(names))
        ).all():
            if (row.organisation_code, row.state_code) not in pairs:
                service.delete_membership(self.session, self.actor, row.id)
                self.report.count("membership", "removed")
        for agreement in self.session.scalars(
            select(Agreement).where(Agreement.origin.in_(names))
        ).all():
            if agreement.code not in agreements:
                service.delete_agreement(self.session, self.actor, agreement.code)
                self.report.count("agreement", "removed")
        for border in self.session.scalars(select(Border).where(Border.origin.in_(names))).all():
            if (border.state_a, border.state_b) not in borders:
                service.delete_border(self.session, self.actor, border.state_a, border.state_b)
                self.report.count("border", "removed")
        for body in self.session.scalars(select(Body).where(Body.origin.in_(names))).all():
            if body.code not in bodies:
                try:
                    with self.session.begin_nested():
                        service.delete_body(self.session, self.actor, body.code)
                except IndivisibleError as exc:
                    self.refuse("body", f"removing body {body.code}", _explain(exc))
                else:
                    self.report.count("body", "removed")


def _organisation_fields(org: OrganisationEntry) -> dict[str, Any]:
    seat_state, seat_city = _seat(org.seat)
    return {
        "code": org.code,
        "name": _names(org.name),
        "abbreviation": _names(org.abbreviation) if org.abbreviation else None,
        "kind": org.kind,
        "founded": _day(org.founded),
        "founded_precision": _precision(org.founded),
        "dissolved": _day(org.dissolved),
        "succeeded_by": org.succeeded_by,
        "seat_state": seat_state,
        "seat_city": seat_city,
        "sources": org.sources,
        "uncertain": org.uncertain,
        "note": org.note,
    }


def _body_fields(organisation: str, body: BodyEntry) -> dict[str, Any]:
    seat_state, seat_city = _seat(body.seat)
    return {
        "code": body.code,
        "organisation": organisation,
        "name": _names(body.name),
        "kind": body.kind,
        "seat_state": seat_state,
        "seat_city": seat_city,
        "established": _day(body.established),
        "established_precision": _precision(body.established),
        "abolished": _day(body.abolished),
        "sources": body.sources,
        "uncertain": body.uncertain,
        "note": body.note,
    }


def _membership_fields(organisation: str, m: MembershipEntry) -> dict[str, Any]:
    return {
        "state": m.state,
        "organisation": organisation,
        "status": m.status,
        "valid_from": m.from_.day,
        "from_precision": m.from_.precision,
        "valid_to": _day(m.to),
        "to_precision": _precision(m.to),
        "sources": m.sources,
        "uncertain": m.uncertain,
        "note": m.note,
    }


def _agreement_fields(a: AgreementEntry) -> dict[str, Any]:
    notes = [a.note] if a.note else []
    for ext in a.extensions:
        signed = ext.signed.day.isoformat() if ext.signed else "undated"
        until = ext.until.day.isoformat() if ext.until else "indefinitely"
        notes.append(f"Extended ({signed}) until {until}" + (f": {ext.note}" if ext.note else ""))
    return {
        "code": a.code,
        "title": _names(a.title),
        "kind": a.kind,
        "signed": _day(a.signed),
        "signed_precision": _precision(a.signed),
        "signed_at": a.signed_at,
        "in_force": _day(a.in_force),
        "in_force_precision": _precision(a.in_force),
        "expires": a.effective_expiry(),
        "organisation": a.organisation,
        "sources": a.sources
        + [s for ext in a.extensions for s in ext.sources if s not in a.sources],
        "uncertain": a.uncertain,
        "note": " ".join(notes) or None,
        "parties": [
            {
                "state": p.state,
                "members_of": p.members_of,
                "statuses": p.statuses,
                "side": p.side,
                "valid_from": _day(p.from_),
                "from_precision": _precision(p.from_),
                "valid_to": _day(p.to),
                "sources": p.sources,
                "uncertain": p.uncertain,
                "note": p.note,
            }
            for p in a.parties
        ],
        "obligations": [
            {
                "kind": o.kind,
                "article": o.article,
                "summary": o.summary,
                "sources": o.sources,
                "uncertain": o.uncertain,
                "note": o.note,
            }
            for o in a.obligations
        ],
    }


def load(session: Session, actor: Actor, paths: list[Path] | None = None) -> LoadReport:
    """Apply the reference data to the session's transaction; the caller commits or rolls back."""
    parsed: ParsedFiles = parse_files(paths if paths is not None else data_paths())
    report = LoadReport()
    for problem in parsed.problems:
        report.refused.append(Refusal(f"{problem.path}: {problem.location}", problem.message))
        report.count("file", "refused")
    loader = _Loader(session, actor, report)
    loader.states()
    loader.sources(parsed.files)
    loader.prune(parsed.files)
    loader.organisations(parsed.files)
    loader.agreements(parsed.files)
    loader.borders(parsed.files)
    session.flush()
    return report


def check(paths: list[Path] | None = None) -> LoadReport:
    """Load the files, with the shipped data they may refer to, into a throw-away in-memory
    database: every rule a real load applies, without touching any node's data."""
    from indivisible.db import make_engine, make_session_factory
    from indivisible.migrate import upgrade

    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        session = make_session_factory(engine)()
        try:
            return load(session, Actor.console("registry-check"), data_paths() + list(paths or []))
        finally:
            session.rollback()
            session.close()
    finally:
        engine.dispose()
