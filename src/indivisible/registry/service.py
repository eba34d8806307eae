"""Registry rules: what may be written, and the questions the architecture answers on a date.

Services flush, never commit: the request or CLI command that calls them owns the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import delete, event, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from indivisible.audit.service import record_change, snapshot
from indivisible.auth.models import Principal
from indivisible.auth.principal import Actor, Role
from indivisible.db import Base
from indivisible.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from indivisible.i18n import _
from indivisible.registry import repository
from indivisible.registry.enums import (
    INACTIVE_STATUSES,
    DatePrecision,
    MembershipStatus,
    ObligationKind,
)
from indivisible.registry.models import (
    Agreement,
    AgreementParty,
    Body,
    Border,
    Citation,
    Membership,
    Obligation,
    Organisation,
    Source,
    State,
)
from indivisible.registry.schemas import (
    AgreementCreate,
    AgreementRead,
    AgreementStanding,
    AssistanceAnswer,
    BeltNeighbour,
    BodyCreate,
    BodyRead,
    BorderCreate,
    BorderRead,
    Caveat,
    Duty,
    MembershipCreate,
    MembershipRead,
    MembershipUpdate,
    MembersOn,
    ObligationRead,
    OrganisationCreate,
    OrganisationRead,
    Overlap,
    OwnParticipation,
    PartiesOn,
    PartyOn,
    PartyRead,
    SecurityBelt,
    SourceCreate,
    SourceRead,
    StateStanding,
    TimelineRow,
)

OutT = TypeVar("OutT", bound=BaseModel)
ATTACHED = frozenset(s for s in MembershipStatus if s is not MembershipStatus.withdrawn)


class Outcome(StrEnum):
    added = "added"
    changed = "changed"
    unchanged = "unchanged"


# ---- permissions ---------------------------------------------------------------------------


def ensure_may_edit(actor: Actor, organisation: str | None = None) -> None:
    """Admins edit everything; a secretariat edits only its own organisation's records.

    Facts that belong to no organisation (borders, bilateral agreements) are admins' alone:
    they change what every state is bound to, so no one organisation's staff may write them.
    """
    if actor.role is Role.admin:
        return
    if (
        actor.role is Role.secretariat
        and actor.organisation_code is not None
        and organisation == actor.organisation_code
    ):
        return
    raise PermissionDenied(
        _(
            "Only the node's admins, or the secretariat of the organisation concerned, edit the registry."
        ),
        code="registry_edit_denied",
    )


def ensure_may_cite(actor: Actor) -> None:
    """Sources can be added by anyone who may edit some facts; a source alone changes no answer."""
    if actor.role is Role.admin or (
        actor.role is Role.secretariat and actor.organisation_code is not None
    ):
        return
    ensure_may_edit(actor)


# ---- lookups -------------------------------------------------------------------------------


def get_state(session: Session, code: str, *, field: str = "state") -> State:
    state = session.get(State, code)
    if state is None:
        raise NotFound(
            _("Unknown state code {code}."),
            code="unknown_state",
            field=field,
            params={"code": code},
        )
    return state


def get_organisation(session: Session, code: str, *, field: str = "organisation") -> Organisation:
    organisation = session.get(Organisation, code)
    if organisation is None:
        raise NotFound(
            _("Unknown organisation {code}."),
            code="unknown_organisation",
            field=field,
            params={"code": code},
        )
    return organisation


def get_agreement(session: Session, code: str) -> Agreement:
    agreement = session.get(Agreement, code)
    if agreement is None:
        raise NotFound(
            _("Unknown agreement {code}."),
            code="unknown_agreement",
            field="agreement",
            params={"code": code},
        )
    return agreement


def _require_state(session: Session, code: str | None, field: str) -> None:
    if code is not None and session.get(State, code) is None:
        raise InvalidInput(
            _("Unknown state code {code}."),
            code="unknown_state",
            field=field,
            params={"code": code},
        )


def _require_organisation(session: Session, code: str | None, field: str) -> None:
    if code is not None and session.get(Organisation, code) is None:
        raise InvalidInput(
            _("Unknown organisation {code}."),
            code="unknown_organisation",
            field=field,
            params={"code": code},
        )


# ---- citations -----------------------------------------------------------------------------


def _source_ids(session: Session, keys: Collection[str]) -> list[int]:
    if not keys:
        raise InvalidInput(
            _("A fact needs at least one source."), code="source_required", field="sources"
        )
    found = dict(
        session.execute(select(Source.key, Source.id).where(Source.key.in_(list(keys))))
        .tuples()
        .all()
    )
    missing = sorted(set(keys) - set(found))
    if missing:
        raise InvalidInput(
            _("Unknown source key(s): {keys}."),
            code="unknown_source",
            field="sources",
            params={"keys": ", ".join(missing)},
        )
    return [found[k] for k in keys]


def cite(session: Session, subject_type: str, subject_key: str, keys: Collection[str]) -> bool:
    """Make the fact's citations exactly ``keys``; returns whether anything changed."""
    wanted = set(_source_ids(session, keys))
    rows = session.scalars(
        select(Citation).where(
            Citation.subject_type == subject_type, Citation.subject_key == subject_key
        )
    ).all()
    have = {row.source_id for row in rows}
    if have == wanted:
        return False
    for row in rows:
        if row.source_id not in wanted:
            session.delete(row)
    for source_id in wanted - have:
        session.add(
            Citation(subject_type=subject_type, subject_key=subject_key, source_id=source_id)
        )
    session.flush()
    return True


def _uncite(session: Session, subject_type: str, subject_key: str) -> None:
    session.execute(
        delete(Citation).where(
            Citation.subject_type == subject_type, Citation.subject_key == subject_key
        )
    )


def _sources_by_key(
    session: Session, subject_type: str, keys: Collection[str]
) -> dict[str, list[SourceRead]]:
    found: dict[str, list[SourceRead]] = defaultdict(list)
    if keys:
        for key, source in session.execute(repository.citations(subject_type, keys)).tuples():
            found[key].append(SourceRead.model_validate(source))
    return found


def _read(
    session: Session, subject_type: str, rows: Iterable[Any], schema: type[OutT], key: str
) -> list[OutT]:
    rows = list(rows)
    cited = _sources_by_key(session, subject_type, [str(getattr(r, key)) for r in rows])
    out = []
    for row in rows:
        item = schema.model_validate(row)
        item.sources = cited.get(str(getattr(row, key)), [])  # type: ignore[attr-defined]
        out.append(item)
    return out


# ---- generic upsert ------------------------------------------------------------------------


def _apply(
    session: Session,
    actor: Actor,
    row: Base | None,
    values: dict[str, Any],
    *,
    model: type[Base],
    subject_type: str,
    key_of: str,
    origin: str | None = None,
) -> tuple[Base, Outcome]:
    """Insert or update one row and log the change; the caller handles citations."""
    if origin is not None:
        values = {**values, "origin": origin}
    if row is None:
        row = model(**values)
        session.add(row)
        session.flush()
        record_change(
            session,
            actor,
            action="create",
            subject_type=subject_type,
            subject_key=str(getattr(row, key_of)),
            before=None,
            after=snapshot(row),
        )
        return row, Outcome.added
    before = snapshot(row)
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()
    after = snapshot(row)
    # Which file a fact comes from is bookkeeping: recording it is not a change of the fact.
    if {k: v for k, v in after.items() if k != "origin"} == {
        k: v for k, v in before.items() if k != "origin"
    }:
        return row, Outcome.unchanged
    record_change(
        session,
        actor,
        action="update",
        subject_type=subject_type,
        subject_key=str(getattr(row, key_of)),
        before=before,
        after=after,
    )
    return row, Outcome.changed


def _merge(outcome: Outcome, cited_changed: bool) -> Outcome:
    return Outcome.changed if outcome is Outcome.unchanged and cited_changed else outcome


# ---- writes --------------------------------------------------------------------------------


def put_source(session: Session, actor: Actor, data: SourceCreate) -> tuple[Source, Outcome]:
    ensure_may_cite(actor)
    row = session.scalars(select(Source).where(Source.key == data.key)).first()
    if row is not None:
        # Rewording a source changes what every fact citing it rests on: admins only.
        ensure_may_edit(actor)
    values = data.model_dump()
    source, outcome = _apply(
        session, actor, row, values, model=Source, subject_type="source", key_of="key"
    )
    assert isinstance(source, Source)
    return source, outcome


def add_source(session: Session, actor: Actor, data: SourceCreate) -> Source:
    ensure_may_cite(actor)
    if session.scalars(select(Source).where(Source.key == data.key)).first() is not None:
        raise Conflict(
            _("Source {key} already exists."),
            code="duplicate",
            field="key",
            params={"key": data.key},
        )
    source, _outcome = put_source(session, actor, data)
    return source


def add_organisation(session: Session, actor: Actor, data: OrganisationCreate) -> Organisation:
    ensure_may_edit(actor, data.code)
    if session.get(Organisation, data.code) is not None:
        raise Conflict(
            _("Organisation {code} already exists."),
            code="duplicate",
            field="code",
            params={"code": data.code},
        )
    row, _outcome = put_organisation(session, actor, data)
    return row


def add_body(session: Session, actor: Actor, data: BodyCreate) -> Body:
    ensure_may_edit(actor, data.organisation)
    if session.get(Body, data.code) is not None:
        raise Conflict(
            _("Body {code} already exists."),
            code="duplicate",
            field="code",
            params={"code": data.code},
        )
    row, _outcome = put_body(session, actor, data)
    return row


def put_organisation(
    session: Session, actor: Actor, data: OrganisationCreate, *, origin: str | None = None
) -> tuple[Organisation, Outcome]:
    ensure_may_edit(actor, data.code)
    _require_state(session, data.seat_state, "seat_state")
    abbreviation = data.abbreviation
    values = {
        "code": data.code,
        "name_en": data.name.en,
        "name_ru": data.name.ru,
        "name_zh": data.name.zh,
        "abbreviation_en": abbreviation.en if abbreviation else None,
        "abbreviation_ru": abbreviation.ru if abbreviation else None,
        "abbreviation_zh": abbreviation.zh if abbreviation else None,
        "kind": data.kind.value,
        "founded": data.founded,
        "founded_precision": data.founded_precision.value,
        "dissolved": data.dissolved,
        "succeeded_by": data.succeeded_by,
        "seat_state": data.seat_state,
        "seat_city": data.seat_city,
        "uncertain": data.uncertain,
        "note": data.note,
    }
    _source_ids(session, data.sources)
    row, outcome = _apply(
        session,
        actor,
        session.get(Organisation, data.code),
        values,
        model=Organisation,
        origin=origin,
        subject_type="organisation",
        key_of="code",
    )
    assert isinstance(row, Organisation)
    return row, _merge(outcome, cite(session, "organisation", row.code, data.sources))


def put_body(
    session: Session, actor: Actor, data: BodyCreate, *, origin: str | None = None
) -> tuple[Body, Outcome]:
    ensure_may_edit(actor, data.organisation)
    stored = session.get(Body, data.code)
    if stored is not None:
        # Moving a body between organisations needs rights over the one it leaves as well.
        ensure_may_edit(actor, stored.organisation_code)
    _require_organisation(session, data.organisation, "organisation")
    _require_state(session, data.seat_state, "seat_state")
    _source_ids(session, data.sources)
    values = {
        "code": data.code,
        "organisation_code": data.organisation,
        "name_en": data.name.en,
        "name_ru": data.name.ru,
        "name_zh": data.name.zh,
        "kind": data.kind.value,
        "seat_state": data.seat_state,
        "seat_city": data.seat_city,
        "established": data.established,
        "established_precision": data.established_precision.value,
        "abolished": data.abolished,
        "uncertain": data.uncertain,
        "note": data.note,
    }
    row, outcome = _apply(
        session,
        actor,
        session.get(Body, data.code),
        values,
        model=Body,
        origin=origin,
        subject_type="body",
        key_of="code",
    )
    assert isinstance(row, Body)
    return row, _merge(outcome, cite(session, "body", row.code, data.sources))


def _check_overlap(
    session: Session,
    state: str,
    organisation: str,
    start: date,
    end: date | None,
    exclude: int | None,
) -> None:
    for other in session.scalars(repository.memberships_of(state, organisation)):
        if other.id == exclude:
            continue
        other_end = other.valid_to
        if (end is None or other.valid_from < end) and (other_end is None or start < other_end):
            until = other_end.isoformat() if other_end else "open"
            raise Conflict(
                _(
                    "{state} already has a {status} period in {organisation} from {start} to "
                    "{end}; periods of one state in one organisation may not overlap."
                ),
                code="overlapping_membership",
                field="valid_from",
                params={
                    "state": state,
                    "status": other.status,
                    "organisation": organisation,
                    "start": other.valid_from.isoformat(),
                    "end": until,
                },
            )


def _membership_values(data: MembershipCreate) -> dict[str, Any]:
    return {
        "state_code": data.state,
        "organisation_code": data.organisation,
        "status": data.status.value,
        "valid_from": data.valid_from,
        "from_precision": data.from_precision.value,
        "valid_to": data.valid_to,
        "to_precision": data.to_precision.value,
        "uncertain": data.uncertain,
        "note": data.note,
    }


def put_membership(
    session: Session, actor: Actor, data: MembershipCreate, *, origin: str | None = None
) -> tuple[Membership, Outcome]:
    """Add a period, or update the one of this state and organisation starting on the same day."""
    ensure_may_edit(actor, data.organisation)
    _require_state(session, data.state, "state")
    _require_organisation(session, data.organisation, "organisation")
    _source_ids(session, data.sources)
    existing = session.scalars(
        repository.memberships_of(data.state, data.organisation).where(
            Membership.valid_from == data.valid_from
        )
    ).first()
    _check_overlap(
        session,
        data.state,
        data.organisation,
        data.valid_from,
        data.valid_to,
        existing.id if existing else None,
    )
    row, outcome = _apply(
        session,
        actor,
        existing,
        _membership_values(data),
        model=Membership,
        origin=origin,
        subject_type="membership",
        key_of="id",
    )
    assert isinstance(row, Membership)
    return row, _merge(outcome, cite(session, "membership", str(row.id), data.sources))


def add_membership(session: Session, actor: Actor, data: MembershipCreate) -> Membership:
    ensure_may_edit(actor, data.organisation)
    _require_state(session, data.state, "state")
    _require_organisation(session, data.organisation, "organisation")
    _check_overlap(session, data.state, data.organisation, data.valid_from, data.valid_to, None)
    row, _outcome = put_membership(session, actor, data)
    return row


def update_membership(
    session: Session, actor: Actor, membership_id: int, data: MembershipUpdate
) -> Membership:
    row = session.get(Membership, membership_id)
    if row is None:
        raise NotFound(
            _("No membership {id}."), code="unknown_membership", params={"id": membership_id}
        )
    ensure_may_edit(actor, row.organisation_code)
    changes = data.model_dump(exclude_unset=True)
    end = changes.get("valid_to", row.valid_to)
    if end is not None and end <= row.valid_from:
        raise InvalidInput(
            _("valid_to must be after valid_from (periods are half-open)."),
            code="period",
            field="valid_to",
        )
    _check_overlap(session, row.state_code, row.organisation_code, row.valid_from, end, row.id)
    values: dict[str, Any] = {}
    for name in ("valid_to", "uncertain", "note"):
        if name in changes:
            values[name] = changes[name]
    if changes.get("status") is not None:
        values["status"] = MembershipStatus(changes["status"]).value
    if changes.get("to_precision") is not None:
        values["to_precision"] = changes["to_precision"].value
    if data.sources is not None:
        _source_ids(session, data.sources)
    _apply(session, actor, row, values, model=Membership, subject_type="membership", key_of="id")
    if data.sources is not None:
        cite(session, "membership", str(row.id), data.sources)
    return row


def delete_membership(session: Session, actor: Actor, membership_id: int) -> None:
    row = session.get(Membership, membership_id)
    if row is None:
        raise NotFound(
            _("No membership {id}."), code="unknown_membership", params={"id": membership_id}
        )
    ensure_may_edit(actor, row.organisation_code)
    before = snapshot(row)
    _uncite(session, "membership", str(row.id))
    session.delete(row)
    session.flush()
    record_change(
        session,
        actor,
        action="delete",
        subject_type="membership",
        subject_key=str(membership_id),
        before=before,
        after=None,
    )


def delete_agreement(session: Session, actor: Actor, code: str) -> None:
    agreement = get_agreement(session, code)
    ensure_may_edit(actor, agreement.organisation_code)
    before = agreement_document(session, agreement)
    for party in session.scalars(
        select(AgreementParty).where(AgreementParty.agreement_code == code)
    ):
        _uncite(session, "agreement_party", str(party.id))
        session.delete(party)
    for obligation in session.scalars(select(Obligation).where(Obligation.agreement_code == code)):
        _uncite(session, "obligation", str(obligation.id))
        session.delete(obligation)
    _uncite(session, "agreement", code)
    session.delete(agreement)
    session.flush()
    record_change(
        session,
        actor,
        action="delete",
        subject_type="agreement",
        subject_key=code,
        before=before,
        after=None,
    )


def delete_border(session: Session, actor: Actor, a: str, b: str) -> None:
    ensure_may_edit(actor)
    border = session.scalars(repository.border_between(a, b)).first()
    if border is None:
        raise NotFound(
            _("No border between {a} and {b}."), code="unknown_border", params={"a": a, "b": b}
        )
    before = snapshot(border)
    _uncite(session, "border", f"{border.state_a}-{border.state_b}")
    session.delete(border)
    session.flush()
    record_change(
        session,
        actor,
        action="delete",
        subject_type="border",
        subject_key=f"{border.state_a}-{border.state_b}",
        before=before,
        after=None,
    )


def delete_body(session: Session, actor: Actor, code: str) -> None:
    body = session.get(Body, code)
    if body is None:
        raise NotFound(
            _("No body {code}."), code="unknown_body", field="body", params={"code": code}
        )
    ensure_may_edit(actor, body.organisation_code)
    if session.scalars(select(Principal.id).where(Principal.body_code == code)).first() is not None:
        raise Conflict(
            _("Body {code} still has accounts acting for it."),
            code="body_in_use",
            params={"code": code},
        )
    before = snapshot(body)
    _uncite(session, "body", code)
    session.delete(body)
    session.flush()
    record_change(
        session,
        actor,
        action="delete",
        subject_type="body",
        subject_key=code,
        before=before,
        after=None,
    )


def _agreement_document(data: AgreementCreate) -> dict[str, Any]:
    return _sorted_sources(data.model_dump(mode="json"))


def put_agreement(
    session: Session, actor: Actor, data: AgreementCreate, *, origin: str | None = None
) -> tuple[Agreement, Outcome]:
    """Add an agreement or replace it with its parties and obligations as given."""
    ensure_may_edit(actor, data.organisation)
    stored = session.get(Agreement, data.code)
    if stored is not None:
        ensure_may_edit(actor, stored.organisation_code)
    if actor.role is not Role.admin and any(
        party.members_of != actor.organisation_code for party in data.parties
    ):
        # Naming states, or another organisation's members, binds others than one's own members.
        raise PermissionDenied(
            _("A secretariat records only agreements among its own organisation's members."),
            code="registry_edit_denied",
            field="parties",
        )
    _require_organisation(session, data.organisation, "organisation")
    _source_ids(session, data.sources)
    for i, party in enumerate(data.parties):
        _require_state(session, party.state, f"parties[{i}].state")
        _require_organisation(session, party.members_of, f"parties[{i}].members_of")
        try:
            _source_ids(session, party.sources)
        except InvalidInput as exc:
            exc.field = f"parties[{i}].sources"
            raise
    for i, obligation in enumerate(data.obligations):
        try:
            _source_ids(session, obligation.sources)
        except InvalidInput as exc:
            exc.field = f"obligations[{i}].sources"
            raise
    existing = session.get(Agreement, data.code)
    before_doc = agreement_document(session, existing) if existing else None
    values = {
        "code": data.code,
        "title_en": data.title.en,
        "title_ru": data.title.ru,
        "title_zh": data.title.zh,
        "kind": data.kind.value,
        "signed": data.signed,
        "signed_precision": data.signed_precision.value,
        "signed_at": data.signed_at,
        "in_force": data.in_force,
        "in_force_precision": data.in_force_precision.value,
        "expires": data.expires,
        "organisation_code": data.organisation,
        "uncertain": data.uncertain,
        "note": data.note,
    }
    if origin is not None:
        values["origin"] = origin
    if existing is not None and before_doc == _agreement_document(data):
        if origin is not None:
            # Which file a fact comes from is bookkeeping, not a change of the fact.
            existing.origin = origin
        return existing, Outcome.unchanged
    if existing is None:
        agreement = Agreement(**values)
        session.add(agreement)
    else:
        agreement = existing
        for name, value in values.items():
            setattr(agreement, name, value)
        for old_party in session.scalars(
            select(AgreementParty).where(AgreementParty.agreement_code == data.code)
        ):
            _uncite(session, "agreement_party", str(old_party.id))
            session.delete(old_party)
        for old_obligation in session.scalars(
            select(Obligation).where(Obligation.agreement_code == data.code)
        ):
            _uncite(session, "obligation", str(old_obligation.id))
            session.delete(old_obligation)
    session.flush()
    cite(session, "agreement", data.code, data.sources)
    for given in data.parties:
        party_row = AgreementParty(
            agreement_code=data.code,
            state_code=given.state,
            members_of=given.members_of,
            statuses=",".join(s.value for s in given.statuses) if given.members_of else None,
            side=given.side,
            valid_from=given.valid_from,
            from_precision=given.from_precision.value,
            valid_to=given.valid_to,
            uncertain=given.uncertain,
            note=given.note,
        )
        session.add(party_row)
        session.flush()
        cite(session, "agreement_party", str(party_row.id), given.sources)
    for duty in data.obligations:
        obligation_row = Obligation(
            agreement_code=data.code,
            kind=duty.kind.value,
            article=duty.article,
            summary=duty.summary,
            uncertain=duty.uncertain,
            note=duty.note,
        )
        session.add(obligation_row)
        session.flush()
        cite(session, "obligation", str(obligation_row.id), duty.sources)
    record_change(
        session,
        actor,
        action="create" if existing is None else "update",
        subject_type="agreement",
        subject_key=data.code,
        before=before_doc,
        after=_agreement_document(data),
    )
    return agreement, Outcome.added if existing is None else Outcome.changed


def add_agreement(session: Session, actor: Actor, data: AgreementCreate) -> Agreement:
    ensure_may_edit(actor, data.organisation)
    if session.get(Agreement, data.code) is not None:
        raise Conflict(
            _("Agreement {code} already exists."),
            code="duplicate",
            field="code",
            params={"code": data.code},
        )
    agreement, _outcome = put_agreement(session, actor, data)
    return agreement


def agreement_document(session: Session, agreement: Agreement) -> dict[str, Any]:
    """The agreement as the create schema would express it, for change detection and the log."""
    cited = _sources_by_key
    parties = session.scalars(
        select(AgreementParty)
        .where(AgreementParty.agreement_code == agreement.code)
        .order_by(AgreementParty.id)
    ).all()
    obligations = session.scalars(
        select(Obligation)
        .where(Obligation.agreement_code == agreement.code)
        .order_by(Obligation.id)
    ).all()
    party_sources = cited(session, "agreement_party", [str(p.id) for p in parties])
    obligation_sources = cited(session, "obligation", [str(o.id) for o in obligations])
    own = cited(session, "agreement", [agreement.code]).get(agreement.code, [])
    titles = {"en": agreement.title_en, "ru": agreement.title_ru, "zh": agreement.title_zh}
    document = AgreementCreate.model_validate(
        {
            "code": agreement.code,
            "title": titles,
            "kind": agreement.kind,
            "signed": agreement.signed,
            "signed_precision": agreement.signed_precision,
            "signed_at": agreement.signed_at,
            "in_force": agreement.in_force,
            "in_force_precision": agreement.in_force_precision,
            "expires": agreement.expires,
            "organisation": agreement.organisation_code,
            "uncertain": agreement.uncertain,
            "note": agreement.note,
            "sources": [s.key for s in own] or ["missing"],
            "parties": [
                {
                    "state": p.state_code,
                    "members_of": p.members_of,
                    "statuses": p.statuses.split(",") if p.statuses else ["member"],
                    "side": p.side,
                    "valid_from": p.valid_from,
                    "from_precision": p.from_precision,
                    "valid_to": p.valid_to,
                    "uncertain": p.uncertain,
                    "note": p.note,
                    "sources": [s.key for s in party_sources.get(str(p.id), [])] or ["missing"],
                }
                for p in parties
            ],
            "obligations": [
                {
                    "kind": o.kind,
                    "article": o.article,
                    "summary": o.summary,
                    "uncertain": o.uncertain,
                    "note": o.note,
                    "sources": [s.key for s in obligation_sources.get(str(o.id), [])]
                    or ["missing"],
                }
                for o in obligations
            ],
        }
    )
    return _sorted_sources(document.model_dump(mode="json"))


def _sorted_sources(document: dict[str, Any]) -> dict[str, Any]:
    # Citation order carries no meaning, so compare documents with sorted source lists.
    document["sources"] = sorted(document["sources"])
    for item in document["parties"] + document["obligations"]:
        item["sources"] = sorted(item["sources"])
    return document


def put_border(
    session: Session, actor: Actor, data: BorderCreate, *, origin: str | None = None
) -> tuple[Border, Outcome]:
    ensure_may_edit(actor)
    first, second = sorted(data.states)
    _require_state(session, first, "states")
    _require_state(session, second, "states")
    _source_ids(session, data.sources)
    existing = session.scalars(repository.border_between(first, second)).first()
    values = {
        "state_a": first,
        "state_b": second,
        "length_km": data.length_km,
        "uncertain": data.uncertain,
        "note": data.note,
    }
    row, outcome = _apply(
        session,
        actor,
        existing,
        values,
        model=Border,
        subject_type="border",
        key_of="id",
        origin=origin,
    )
    assert isinstance(row, Border)
    return row, _merge(outcome, cite(session, "border", f"{first}-{second}", data.sources))


def add_border(session: Session, actor: Actor, data: BorderCreate) -> Border:
    ensure_may_edit(actor)
    if session.scalars(repository.border_between(*data.states)).first() is not None:
        raise Conflict(_("This border is already recorded."), code="duplicate", field="states")
    row, _outcome = put_border(session, actor, data)
    return row


# ---- reads ---------------------------------------------------------------------------------


def list_states(session: Session) -> list[State]:
    return list(session.scalars(select(State).order_by(State.code)))


def list_organisations(session: Session) -> list[OrganisationRead]:
    rows = session.scalars(select(Organisation).order_by(Organisation.code))
    return _read(session, "organisation", rows, OrganisationRead, "code")


def organisation_detail(session: Session, code: str) -> OrganisationRead:
    return _read(
        session, "organisation", [get_organisation(session, code)], OrganisationRead, "code"
    )[0]


def bodies_of(session: Session, code: str) -> list[BodyRead]:
    get_organisation(session, code)
    rows = session.scalars(select(Body).where(Body.organisation_code == code).order_by(Body.code))
    return _read(session, "body", rows, BodyRead, "code")


def list_agreements(session: Session) -> list[AgreementRead]:
    rows = session.scalars(select(Agreement).order_by(Agreement.signed, Agreement.code))
    return _read(session, "agreement", rows, AgreementRead, "code")


def agreement_detail(session: Session, code: str) -> AgreementRead:
    agreement = get_agreement(session, code)
    out = _read(session, "agreement", [agreement], AgreementRead, "code")[0]
    parties = session.scalars(
        select(AgreementParty)
        .where(AgreementParty.agreement_code == code)
        .order_by(AgreementParty.id)
    )
    out.parties = _read(session, "agreement_party", parties, PartyRead, "id")
    obligations = session.scalars(repository.obligations_of([code]))
    out.obligations = _read(session, "obligation", obligations, ObligationRead, "id")
    return out


def membership_detail(session: Session, membership_id: int) -> MembershipRead:
    row = session.get(Membership, membership_id)
    if row is None:
        raise NotFound(
            _("No membership {id}."), code="unknown_membership", params={"id": membership_id}
        )
    return _memberships(session, [row])[0]


def body_detail(session: Session, code: str) -> BodyRead:
    row = session.get(Body, code)
    if row is None:
        raise NotFound(
            _("No body {code}."), code="unknown_body", field="body", params={"code": code}
        )
    return _read(session, "body", [row], BodyRead, "code")[0]


def _memberships(session: Session, rows: Iterable[Membership]) -> list[MembershipRead]:
    return _read(session, "membership", rows, MembershipRead, "id")


def members_on(
    session: Session,
    organisation: str,
    on: date,
    statuses: Collection[MembershipStatus] | None = None,
) -> MembersOn:
    get_organisation(session, organisation)
    wanted = [s.value for s in (statuses or ATTACHED)]
    rows = session.scalars(
        repository.memberships_on(on, organisation=organisation, statuses=wanted)
    )
    return MembersOn(organisation=organisation, on=on, members=_memberships(session, rows))


def membership_timeline(session: Session, organisation: str) -> list[TimelineRow]:
    get_organisation(session, organisation)
    rows = list(session.scalars(repository.timeline(organisation)))
    names = {
        s.code: s.name_en
        for s in session.scalars(select(State).where(State.code.in_({r.state_code for r in rows})))
    }
    read = _memberships(session, rows)
    by_state: dict[str, list[MembershipRead]] = defaultdict(list)
    for item in read:
        by_state[item.state_code].append(item)
    return [
        TimelineRow(state=code, state_name=names.get(code, code), periods=periods)
        for code, periods in by_state.items()
    ]


@dataclass(frozen=True)
class _Party:
    """How one state takes part in one agreement on the asked date."""

    basis: str
    side: str | None
    uncertain: str | None
    # The organisation whose frozen or suspended status makes this party inactive.
    organisation: str | None
    approximate_from: bool

    def bound_to(self, other: _Party) -> bool:
        return self.side is None or other.side is None or self.side != other.side


# One value answers every question asked on its date in a transaction (see _bindings): frozen,
# and ``parties`` a plain dict (a defaultdict grows when asked for an agreement it lacks), so that
# a reader does not change what the next one is told.
@dataclass(frozen=True)
class _Bindings:
    agreements: dict[str, Agreement]
    parties: dict[str, dict[str, _Party]]
    status_of: dict[tuple[str, str], str]

    def inactive(self, code: str, state: str) -> str | None:
        party = self.parties[code][state]
        if party.organisation is None:
            return None
        status = self.status_of.get((party.organisation, state))
        return status if status in INACTIVE_STATUSES else None

    def of(self, state: str) -> list[str]:
        return sorted(code for code, members in self.parties.items() if state in members)


# Where a session keeps the bindings it computed: (the transaction they were read in, by date).
_BINDINGS_MEMO = "indivisible.registry.bindings"


def _bindings(session: Session, on: date) -> _Bindings:
    """Agreements in force on the date and, for each, the states it binds and how.

    Callers ask once per agreement (the CBM engine once per rule set, on one date), and each
    answer rebuilds every party and membership on the date: most of the cost of filing a
    notification. So the answer is remembered in ``session.info`` for the rest of the
    transaction, and only while this session writes nothing: a pending change, a flush, a bulk
    statement or the end of the transaction (savepoints too) forgets it, so a write is always
    seen by the next question. It lives here rather than in the callers because the registry
    alone knows what its answer depends on. Never across transactions: other workers write the
    registry. Within one, on PostgreSQL's READ COMMITTED, a re-read could see their commits
    meanwhile; every question of one request now judges by the same registry instead.
    """
    if _has_pending(session):
        # The queries would autoflush these first; answer from what the flush makes of them.
        return _compute_bindings(session, on)
    transaction = session.get_transaction()
    memo: tuple[SessionTransaction, dict[date, _Bindings]] | None = session.info.get(_BINDINGS_MEMO)
    if memo is not None and memo[0] is transaction and on in memo[1]:
        return memo[1][on]
    bound = _compute_bindings(session, on)
    # Reading may have begun the transaction; the answer belongs to the one it was read in.
    transaction = session.get_transaction()
    if transaction is not None and not _has_pending(session):
        if memo is None or memo[0] is not transaction:
            memo = (transaction, {})
            session.info[_BINDINGS_MEMO] = memo
        memo[1][on] = bound
    return bound


def _has_pending(session: Session) -> bool:
    return bool(session.new or session.dirty or session.deleted)


# Registered on the Session class so that every session (requests, CLI, tests) forgets alike.
# A flush also ends an inner transaction, so the next listener would see it too; the flush is
# what writes rows, though, and this does not rest on how SQLAlchemy nests its transactions.
@event.listens_for(Session, "after_flush")
def _forget_after_flush(session: Session, _flush: UOWTransaction) -> None:
    _forget_bindings(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_after_transaction(session: Session, _transaction: SessionTransaction) -> None:
    # Also ends savepoints: a rolled-back savepoint may have held rows a memo was read from.
    _forget_bindings(session)


@event.listens_for(Session, "do_orm_execute")
def _forget_before_bulk_write(state: ORMExecuteState) -> None:
    # Bulk UPDATE/DELETE and raw text() go around the flush; anything but a SELECT may write.
    if not state.is_select:
        _forget_bindings(state.session)


def _forget_bindings(session: Session) -> None:
    session.info.pop(_BINDINGS_MEMO, None)


def _compute_bindings(session: Session, on: date) -> _Bindings:
    agreements = {a.code: a for a in session.scalars(repository.agreements_in_force(on))}
    parties: dict[str, dict[str, _Party]] = defaultdict(dict)
    status_of: dict[tuple[str, str], str] = {
        (org, state): status
        for org, state, status in session.execute(repository.membership_statuses_on(on))
    }
    # An organisation's members, so that a party named as "members of" it reads them alone.
    members: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for (org, state), status in status_of.items():
        members[org].append((state, status))
    if not agreements:
        return _Bindings(agreements, {}, status_of)
    rows = session.execute(repository.party_terms_valid_on(on, agreements)).all()
    # A state named directly wins over the same state reached through an organisation.
    for party in sorted(rows, key=lambda p: (p.state_code is None, p.id)):
        agreement = agreements[party.agreement_code]
        approximate = party.from_precision != DatePrecision.day
        if party.state_code is not None:
            parties[party.agreement_code].setdefault(
                party.state_code,
                _Party(
                    "state", party.side, party.uncertain, agreement.organisation_code, approximate
                ),
            )
        elif party.members_of is not None:
            org = party.members_of
            allowed = set((party.statuses or "member").split(","))
            # One value for every member it reaches: it says how, not who.
            through = _Party(f"members_of:{org}", party.side, party.uncertain, org, approximate)
            bound = parties[party.agreement_code]
            for state, status in members.get(org, ()):
                if status in allowed:
                    bound.setdefault(state, through)
    return _Bindings(agreements, dict(parties), status_of)


def _agreement_caveats(agreement: Agreement) -> list[Caveat]:
    caveats = []
    if agreement.in_force is None and agreement.signed is not None:
        caveats.append(
            Caveat(
                code="in_force_unrecorded",
                detail=f"Entry into force not recorded; treated as binding from signature "
                f"({agreement.signed.isoformat()}).",
            )
        )
    precision = agreement.in_force_precision if agreement.in_force else agreement.signed_precision
    if precision != DatePrecision.day:
        caveats.append(
            Caveat(code="date_approximate", detail=f"Start known only to the {precision}.")
        )
    if agreement.uncertain:
        caveats.append(Caveat(code="agreement_uncertain", detail=agreement.uncertain))
    return caveats


def _party_caveats(party: _Party, *, own: bool = False) -> list[Caveat]:
    """Caveats of one party's participation; ``own`` for the asking state's, said as such."""
    whose = "The asking state's" if own else "The party's"
    caveats = []
    if party.approximate_from:
        caveats.append(Caveat(code="date_approximate", detail=f"{whose} start is approximate."))
    if party.uncertain:
        detail = f"{whose} participation: {party.uncertain}" if own else party.uncertain
        caveats.append(Caveat(code="party_uncertain", detail=detail))
    return caveats


def state_standing(session: Session, state: str, on: date) -> StateStanding:
    get_state(session, state)
    memberships = session.scalars(
        repository.memberships_on(on, state=state, statuses=[s.value for s in ATTACHED])
    )
    bound = _bindings(session, on)
    mine = bound.of(state)
    rows = list(session.scalars(repository.obligations_of(mine)))
    read = _read(session, "obligation", rows, ObligationRead, "id")
    by_agreement: dict[str, list[ObligationRead]] = defaultdict(list)
    for ob, row in zip(read, rows, strict=True):
        by_agreement[row.agreement_code].append(ob)
    standing = []
    for code in mine:
        agreement = bound.agreements[code]
        party = bound.parties[code][state]
        standing.append(
            AgreementStanding(
                agreement=code,
                title=agreement.title_en,
                title_ru=agreement.title_ru,
                title_zh=agreement.title_zh,
                in_force=agreement.in_force,
                expires=agreement.expires,
                obligations=by_agreement.get(code, []),
                basis=party.basis,
                side=party.side,
                caveats=_agreement_caveats(agreement) + _party_caveats(party),
            )
        )
    return StateStanding(
        state=state, on=on, memberships=_memberships(session, memberships), agreements=standing
    )


def parties_on(session: Session, agreement: str, on: date) -> PartiesOn:
    """The states an agreement binds on a date, each with the basis of its participation."""
    row = get_agreement(session, agreement)
    bound = _bindings(session, on)
    in_force = agreement in bound.agreements
    members = bound.parties.get(agreement, {}) if in_force else {}
    return PartiesOn(
        agreement=agreement,
        on=on,
        in_force=in_force,
        caveats=_agreement_caveats(row) if in_force else [],
        parties=[
            PartyOn(
                state=code,
                basis=party.basis,
                side=party.side,
                participation=bound.inactive(agreement, code),
                caveats=_party_caveats(party),
            )
            for code, party in sorted(members.items())
        ],
    )


def bound_to_assist(session: Session, state: str, on: date) -> AssistanceAnswer:
    """Who must come to the aid of ``state`` on ``on``, under which article, and who must only consult."""
    get_state(session, state)
    bound = _bindings(session, on)
    mine = bound.of(state)
    obligation_rows = list(session.scalars(repository.obligations_of(mine)))
    cited = _sources_by_key(session, "obligation", [str(o.id) for o in obligation_rows])
    assist: list[Duty] = []
    consult: list[Duty] = []
    inactive: list[Duty] = []
    own: dict[str, OwnParticipation] = {}
    for ob in obligation_rows:
        if ob.kind not in (ObligationKind.mutual_assistance, ObligationKind.consultation):
            continue
        agreement = bound.agreements[ob.agreement_code]
        members = bound.parties[ob.agreement_code]
        me = members[state]
        my_status = bound.inactive(agreement.code, state)
        if my_status is not None and me.organisation is not None:
            own[agreement.code] = OwnParticipation(
                agreement=agreement.code, organisation=me.organisation, status=my_status
            )
        for other in sorted(members):
            if other == state or not me.bound_to(members[other]):
                continue
            caveats = (
                _agreement_caveats(agreement)
                + _party_caveats(members[other])
                + _party_caveats(me, own=True)
            )
            if ob.uncertain:
                caveats.append(Caveat(code="obligation_uncertain", detail=ob.uncertain))
            status = bound.inactive(agreement.code, other)
            duty = Duty(
                state=other,
                agreement=agreement.code,
                agreement_title=agreement.title_en,
                agreement_title_ru=agreement.title_ru,
                agreement_title_zh=agreement.title_zh,
                article=ob.article,
                kind=ob.kind,
                summary=ob.summary,
                uncertain=ob.uncertain,
                sources=cited.get(str(ob.id), []),
                participation=status,
                caveats=caveats,
            )
            if status is not None:
                inactive.append(duty)
            elif ob.kind == ObligationKind.mutual_assistance:
                assist.append(duty)
            else:
                consult.append(duty)
    helpers = {d.state for d in assist}
    only_consult = [d for d in consult if d.state not in helpers]
    return AssistanceAnswer(
        state=state,
        on=on,
        bound_to_assist=assist,
        only_consult=only_consult,
        participation_inactive=inactive,
        own_participation=list(own.values()),
    )


def neighbours(session: Session, state: str) -> list[tuple[str, Border]]:
    return [
        (b.state_b if b.state_a == state else b.state_a, b)
        for b in session.scalars(repository.borders_of(state))
    ]


def security_belt(session: Session, state: str, on: date) -> SecurityBelt:
    """The state's land neighbours and what binds each of them to the others and to the state."""
    get_state(session, state)
    around = neighbours(session, state)
    belt = {code for code, _ in around} | {state}
    names = {s.code: s.name_en for s in session.scalars(select(State).where(State.code.in_(belt)))}
    bound = _bindings(session, on)
    rows = session.scalars(
        repository.memberships_on(on, statuses=[s.value for s in ATTACHED]).where(
            Membership.state_code.in_([c for c, _ in around])
        )
    ).all()
    read = _memberships(session, rows)
    coverage: dict[str, list[str]] = defaultdict(list)
    by_state: dict[str, list[MembershipRead]] = defaultdict(list)
    for m in read:
        by_state[m.state_code].append(m)
        # Only members are covered; observers, partners and frozen members are listed, not counted.
        if m.status == MembershipStatus.member:
            coverage[m.organisation_code].append(m.state_code)
    out = []
    for code, border in around:
        bound_with: dict[str, list[str]] = {}
        for agreement, members in sorted(bound.parties.items()):
            if code in members:
                others = sorted(
                    other
                    for other in (set(members) & belt) - {code}
                    if members[code].bound_to(members[other])
                )
                if others:
                    bound_with[agreement] = others
        out.append(
            BeltNeighbour(
                state=code,
                state_name=names.get(code, code),
                border_km=border.length_km,
                organisations=by_state.get(code, []),
                bound_with=bound_with,
            )
        )
    return SecurityBelt(
        state=state,
        on=on,
        neighbours=out,
        coverage={org: sorted(states) for org, states in sorted(coverage.items())},
    )


def overlap(
    session: Session, a: str, b: str, on: date, statuses: Collection[MembershipStatus] | None = None
) -> Overlap:
    get_organisation(session, a, field="a")
    get_organisation(session, b, field="b")
    wanted = [s.value for s in (statuses or [MembershipStatus.member])]
    in_a = {
        m.state_code
        for m in session.scalars(repository.memberships_on(on, organisation=a, statuses=wanted))
    }
    in_b = {
        m.state_code
        for m in session.scalars(repository.memberships_on(on, organisation=b, statuses=wanted))
    }
    return Overlap(
        a=a,
        b=b,
        on=on,
        statuses=wanted,
        both=sorted(in_a & in_b),
        only_a=sorted(in_a - in_b),
        only_b=sorted(in_b - in_a),
    )


def borders(session: Session, state: str) -> list[BorderRead]:
    get_state(session, state)
    rows = list(session.scalars(repository.borders_of(state)))
    cited = _sources_by_key(session, "border", [f"{b.state_a}-{b.state_b}" for b in rows])
    out = []
    for row in rows:
        item = BorderRead.model_validate(row)
        item.sources = cited.get(f"{row.state_a}-{row.state_b}", [])
        out.append(item)
    return out
