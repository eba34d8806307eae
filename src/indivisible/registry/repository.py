"""Statements over the registry tables; the service composes and runs them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from indivisible.registry.models import (
    Agreement,
    AgreementParty,
    Border,
    Citation,
    Membership,
    Obligation,
    Source,
)


def _membership_valid_on(on: date) -> tuple[ColumnElement[bool], ...]:
    return (
        Membership.valid_from <= on,
        or_(Membership.valid_to.is_(None), Membership.valid_to > on),
    )


def memberships_on(
    on: date,
    *,
    organisation: str | None = None,
    state: str | None = None,
    statuses: Collection[str] | None = None,
) -> Select[tuple[Membership]]:
    stmt = select(Membership).where(*_membership_valid_on(on))
    if organisation is not None:
        stmt = stmt.where(Membership.organisation_code == organisation)
    if state is not None:
        stmt = stmt.where(Membership.state_code == state)
    if statuses is not None:
        stmt = stmt.where(Membership.status.in_(list(statuses)))
    return stmt.order_by(Membership.organisation_code, Membership.state_code)


def memberships_of(state: str, organisation: str) -> Select[tuple[Membership]]:
    return (
        select(Membership)
        .where(Membership.state_code == state, Membership.organisation_code == organisation)
        .order_by(Membership.valid_from)
    )


def timeline(organisation: str) -> Select[tuple[Membership]]:
    return (
        select(Membership)
        .where(Membership.organisation_code == organisation)
        .order_by(Membership.state_code, Membership.valid_from)
    )


def agreements_in_force(on: date) -> Select[tuple[Agreement]]:
    start = func.coalesce(Agreement.in_force, Agreement.signed)
    return (
        select(Agreement)
        .where(start.is_not(None), start <= on)
        .where(or_(Agreement.expires.is_(None), Agreement.expires > on))
        .order_by(Agreement.code)
    )


def membership_statuses_on(on: date) -> Select[tuple[str, str, str]]:
    """(organisation, state, status) of every membership on a date: plain columns, because
    the bindings of a date read all of them and need nothing else (a few hundred rows)."""
    return (
        select(Membership.organisation_code, Membership.state_code, Membership.status)
        .where(*_membership_valid_on(on))
        .order_by(Membership.organisation_code, Membership.state_code)
    )


def party_terms_valid_on(on: date, agreements: Collection[str]) -> Select[Any]:
    """How each party takes part in the agreements on a date, as plain columns (see above)."""
    return select(
        AgreementParty.id,
        AgreementParty.agreement_code,
        AgreementParty.state_code,
        AgreementParty.members_of,
        AgreementParty.statuses,
        AgreementParty.side,
        AgreementParty.uncertain,
        AgreementParty.from_precision,
    ).where(
        AgreementParty.agreement_code.in_(list(agreements)),
        or_(AgreementParty.valid_from.is_(None), AgreementParty.valid_from <= on),
        or_(AgreementParty.valid_to.is_(None), AgreementParty.valid_to > on),
    )


def obligations_of(agreements: Collection[str]) -> Select[tuple[Obligation]]:
    return (
        select(Obligation)
        .where(Obligation.agreement_code.in_(list(agreements)))
        .order_by(Obligation.agreement_code, Obligation.id)
    )


def borders_of(state: str) -> Select[tuple[Border]]:
    return (
        select(Border)
        .where(or_(Border.state_a == state, Border.state_b == state))
        .order_by(Border.state_a, Border.state_b)
    )


def border_between(a: str, b: str) -> Select[tuple[Border]]:
    first, second = sorted((a, b))
    return select(Border).where(and_(Border.state_a == first, Border.state_b == second))


def citations(subject_type: str, keys: Collection[str]) -> Select[tuple[str, Source]]:
    return (
        select(Citation.subject_key, Source)
        .join(Source, Source.id == Citation.source_id)
        .where(Citation.subject_type == subject_type, Citation.subject_key.in_(list(keys)))
        .order_by(Source.key)
    )
