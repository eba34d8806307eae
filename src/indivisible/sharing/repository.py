"""Statements over the STIX store. ``readable_by`` is the one place release control lives:
every read path (list, manifest, versions, by id, counts, export, TAXII pages) starts from it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select
from sqlalchemy.orm import aliased

from indivisible.auth.principal import Actor
from indivisible.registry.enums import MembershipStatus
from indivisible.registry.models import Membership
from indivisible.sharing.markings import Tlp
from indivisible.sharing.models import SharingGroupMember, StixObject, StixObjectRecipient

PARTNER_STATUSES = (
    MembershipStatus.observer.value,
    MembershipStatus.dialogue_partner.value,
    MembershipStatus.partner.value,
)


def _current(membership: type[Membership], on: date) -> ColumnElement[bool]:
    return and_(
        membership.valid_from <= on,
        or_(membership.valid_to.is_(None), membership.valid_to > on),
    )


def readable_by(actor: Actor, on: date) -> ColumnElement[bool]:
    """Whether the actor may see a stored object version on the given day.

    A state sees what it submitted, what names it, and (unless TLP:RED) what is released to
    the whole node, to an organisation it belongs to on that day, or to a sharing group it is in
    by name or through an organisation. TLP:RED goes to named states only. An organisation
    body's staff see what is released to the node, to their organisation or to a group that
    lists it, never RED. Nobody else sees anything: node admins included.
    """
    not_red = StixObject.tlp != Tlp.red.value
    clauses: list[ColumnElement[bool]] = []
    if actor.state_code is not None:
        state = actor.state_code
        named = and_(
            StixObject.distribution == "states",
            exists().where(
                StixObjectRecipient.object_id == StixObject.id,
                StixObjectRecipient.state_code == state,
            ),
        )
        in_organisation = exists().where(
            Membership.state_code == state,
            Membership.organisation_code == StixObject.distribution_organisation,
            _current(Membership, on),
            or_(
                Membership.status == MembershipStatus.member.value,
                and_(StixObject.distribution_partners, Membership.status.in_(PARTNER_STATUSES)),
            ),
        )
        via = aliased(Membership)
        in_group = exists().where(
            SharingGroupMember.group_id == StixObject.distribution_group,
            or_(
                SharingGroupMember.state_code == state,
                exists().where(
                    via.state_code == state,
                    via.organisation_code == SharingGroupMember.organisation_code,
                    via.status == MembershipStatus.member.value,
                    _current(via, on),
                ),
            ),
        )
        clauses.append(
            or_(
                StixObject.submitter_state == state,
                named,
                and_(
                    not_red,
                    or_(
                        StixObject.distribution == "node",
                        and_(StixObject.distribution == "organisation", in_organisation),
                        and_(StixObject.distribution == "group", in_group),
                    ),
                ),
            )
        )
    if actor.organisation_code is not None:
        organisation = actor.organisation_code
        clauses.append(
            and_(
                not_red,
                or_(
                    StixObject.distribution == "node",
                    and_(
                        StixObject.distribution == "organisation",
                        StixObject.distribution_organisation == organisation,
                    ),
                    and_(
                        StixObject.distribution == "group",
                        exists().where(
                            SharingGroupMember.group_id == StixObject.distribution_group,
                            SharingGroupMember.organisation_code == organisation,
                        ),
                    ),
                ),
            )
        )
    return or_(*clauses) if clauses else false()


def visible_to(actor: Actor, on: date) -> Select[tuple[StixObject]]:
    return select(StixObject).where(readable_by(actor, on))


def version(stix_id: str, modified: object) -> Select[tuple[StixObject]]:
    return select(StixObject).where(StixObject.stix_id == stix_id, StixObject.modified == modified)
