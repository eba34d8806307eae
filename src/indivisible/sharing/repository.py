"""Statements over the STIX store. ``readable_by`` is the one place release control lives:
every read path (list, manifest, versions, by id, counts, export, TAXII pages) starts from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import aliased

from indivisible.auth.principal import Actor, Role
from indivisible.registry.enums import MembershipStatus
from indivisible.registry.models import Membership
from indivisible.sharing.markings import FEDERABLE, Tlp
from indivisible.sharing.models import (
    SharingGroupMember,
    StixObject,
    StixObjectRecipient,
    StixObservable,
    TaxiiCollection,
    TaxiiGrant,
)

# An alias-or-class of StixObject: the rule is applied to the outer row and to the other
# versions a version filter compares it with.
ObjectRow = Any

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


# Built once: an alias costs a proxy for every column, and a fresh one per request would also
# defeat SQLAlchemy's cache of compiled statements.
_VIA = aliased(Membership)
_OTHER = aliased(StixObject)


class StoredVersion(NamedTuple):
    """What a page needs of a stored object version (not the whole row)."""

    id: int
    stix_id: str
    modified: datetime | None
    date_added: datetime
    body: str
    submitter_state: str | None


def readable_by(actor: Actor, on: date, obj: ObjectRow = StixObject) -> ColumnElement[bool]:
    """Whether the actor may see a stored object version on the given day.

    A state sees what it submitted, what names it, and (unless TLP:RED) what is released to
    the whole node, to an organisation it belongs to on that day, or to a sharing group it is in
    by name or through an organisation. TLP:RED goes to named states only. An organisation
    body's staff see what is released to the node, to their organisation or to a group that
    lists it, never RED. A linked node's account sees only what may leave the node: released
    to linked nodes, submitted here, CLEAR to AMBER. Nobody else sees anything: node admins
    included.
    """
    return _readable(actor.role is Role.node, actor.state_code, actor.organisation_code, on, obj)


# A value in the rule: a Python value, or a bound parameter that stands for one in a statement
# built once and executed with each reader's values (``page``).
Value = Any


def _readable(
    node: bool, state: Value | None, organisation: Value | None, on: Value, obj: ObjectRow
) -> ColumnElement[bool]:
    """``readable_by`` for a reader given by its kind and values (None: it has none)."""
    if node:
        return federable(obj)
    not_red = obj.tlp != Tlp.red.value
    clauses: list[ColumnElement[bool]] = []
    if state is not None:
        named = and_(
            obj.distribution == "states",
            exists().where(
                StixObjectRecipient.object_id == obj.id,
                StixObjectRecipient.state_code == state,
            ),
        )
        in_organisation = exists().where(
            Membership.state_code == state,
            Membership.organisation_code == obj.distribution_organisation,
            _current(Membership, on),
            or_(
                Membership.status == MembershipStatus.member.value,
                and_(obj.distribution_partners, Membership.status.in_(PARTNER_STATUSES)),
            ),
        )
        via = _VIA
        in_group = exists().where(
            SharingGroupMember.group_id == obj.distribution_group,
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
                obj.submitter_state == state,
                named,
                and_(
                    not_red,
                    or_(
                        obj.distribution == "node",
                        and_(obj.distribution == "organisation", in_organisation),
                        and_(obj.distribution == "group", in_group),
                    ),
                ),
            )
        )
    if organisation is not None:
        clauses.append(
            and_(
                not_red,
                or_(
                    obj.distribution == "node",
                    and_(
                        obj.distribution == "organisation",
                        obj.distribution_organisation == organisation,
                    ),
                    and_(
                        obj.distribution == "group",
                        exists().where(
                            SharingGroupMember.group_id == obj.distribution_group,
                            SharingGroupMember.organisation_code == organisation,
                        ),
                    ),
                ),
            )
        )
    return or_(*clauses) if clauses else false()


def federable(obj: ObjectRow = StixObject) -> ColumnElement[bool]:
    """Whether an object version may leave the node over a federation link (pulled by a linked
    node's account or pushed by sync): its release says so, its TLP allows it, and it was
    submitted here, since what came from elsewhere was released only as far as this node."""
    return and_(
        obj.federate,
        obj.origin_node.is_(None),
        # Contradictory, and refused on input: kept out in case a row says so anyway.
        obj.distribution != "submitter",
        obj.tlp.in_(sorted(level.value for level in FEDERABLE)),
    )


def visible_to(actor: Actor, on: date) -> Select[tuple[StixObject]]:
    return select(StixObject).where(readable_by(actor, on))


def version(collection_id: str, stix_id: str, modified: object) -> Select[tuple[StixObject]]:
    return select(StixObject).where(
        StixObject.collection_id == collection_id,
        StixObject.stix_id == stix_id,
        StixObject.modified == modified,
    )


@dataclass(frozen=True)
class Filters:
    """The TAXII filters of one request, already parsed."""

    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    # "first", "last", "all" or version timestamps; any of them matches.
    versions: tuple[str | datetime, ...] = ("last",)
    spec_versions: tuple[str, ...] = ()
    added_after: datetime | None = None


def _version_clause(
    reader: tuple[bool, Value | None, Value | None, Value],
    versions: Sequence[str | datetime],
    exact: Value | None,
) -> ColumnElement[bool]:
    """first/last are among the versions this reader may see in this collection, so a reader
    who may not see the newest version gets the newest one they may see, and learns nothing of
    the other. ``exact``: the version timestamps asked for, if any."""
    if "all" in versions:
        return true()
    clauses: list[ColumnElement[bool]] = []
    for wanted in ("first", "last"):
        if wanted in versions:
            other = _OTHER
            beyond = (
                other.modified > StixObject.modified
                if wanted == "last"
                else other.modified < StixObject.modified
            )
            clauses.append(
                ~exists().where(
                    other.collection_id == StixObject.collection_id,
                    other.stix_id == StixObject.stix_id,
                    beyond,
                    _readable(*reader, other),
                )
            )
    if exact is not None:
        clauses.append(StixObject.modified.in_(exact))
    return or_(*clauses) if clauses else false()


# Page statements by the shape of the request. Building the release rule's expression and
# computing a statement's cache key cost more CPU than running the query (about 3 ms of a
# 5 ms page): a statement built once, with bound parameters for the reader's state,
# organisation and day, the collection, the filters and the position, is executed with each
# request's values, and SQLAlchemy keeps its cache key and compiled form.
_PAGES: dict[tuple[bool, ...], Select[Any]] = {}


def page(
    actor: Actor,
    on: date,
    collection_id: str,
    filters: Filters,
    after: tuple[datetime, int] | None,
    limit: int,
) -> tuple[Select[tuple[int, str, datetime | None, datetime, str, str | None]], dict[str, Any]]:
    """One page of what the reader may see in a collection, in date_added order, as a
    statement and its parameters; one row more than the limit is asked for, so the caller
    knows whether there is more."""
    node = actor.role is Role.node
    state = None if node else actor.state_code
    organisation = None if node else actor.organisation_code
    exact = [v for v in filters.versions if isinstance(v, datetime)]
    shape = (
        node,
        state is not None,
        organisation is not None,
        bool(filters.ids),
        bool(filters.types),
        bool(filters.spec_versions),
        filters.added_after is not None,
        after is not None,
        "all" in filters.versions,
        "first" in filters.versions,
        "last" in filters.versions,
        bool(exact),
    )
    stmt = _PAGES.get(shape)
    if stmt is None:
        stmt = _PAGES.setdefault(shape, _page_statement(shape))
    params: dict[str, Any] = {"collection_id": collection_id, "page_limit": limit + 1}
    if not node:
        params["rb_on"] = on
    if state is not None:
        params["rb_state"] = state
    if organisation is not None:
        params["rb_organisation"] = organisation
    if filters.ids:
        params["ids"] = list(filters.ids)
    if filters.types:
        params["types"] = list(filters.types)
    if filters.spec_versions:
        params["spec_versions"] = list(filters.spec_versions)
    if filters.added_after is not None:
        params["added_after"] = filters.added_after
    if after is not None:
        params["after_moment"], params["after_id"] = after
    if exact:
        params["exact"] = exact
    return stmt, params


def _page_statement(shape: tuple[bool, ...]) -> Select[Any]:
    (node, has_state, has_organisation, ids, types, spec_versions, added_after, after) = shape[:8]
    all_versions, first, last, exact = shape[8:]
    reader: tuple[bool, Value | None, Value | None, Value] = (
        node,
        bindparam("rb_state") if has_state else None,
        bindparam("rb_organisation") if has_organisation else None,
        bindparam("rb_on"),
    )
    stmt = select(
        StixObject.id,
        StixObject.stix_id,
        StixObject.modified,
        StixObject.date_added,
        StixObject.body,
        StixObject.submitter_state,
    ).where(StixObject.collection_id == bindparam("collection_id"), _readable(*reader, StixObject))
    if ids:
        stmt = stmt.where(StixObject.stix_id.in_(bindparam("ids", expanding=True)))
    if types:
        stmt = stmt.where(StixObject.type.in_(bindparam("types", expanding=True)))
    if spec_versions:
        stmt = stmt.where(StixObject.spec_version.in_(bindparam("spec_versions", expanding=True)))
    if added_after:
        stmt = stmt.where(StixObject.date_added > bindparam("added_after"))
    if after:
        # A row-value comparison, so that both databases seek in the page index to where the
        # last page ended; the equivalent OR made SQLite scan from the collection's start, and
        # every page cost more than the one before.
        stmt = stmt.where(
            tuple_(StixObject.date_added, StixObject.id)
            > tuple_(
                bindparam("after_moment", type_=StixObject.date_added.type),
                bindparam("after_id", type_=StixObject.id.type),
            )
        )
    versions = [
        name for name, given in (("all", all_versions), ("first", first), ("last", last)) if given
    ]
    exact_versions: Value | None = bindparam("exact", expanding=True) if exact else None
    stmt = stmt.where(_version_clause(reader, versions, exact_versions))
    limit = bindparam("page_limit", type_=Integer)
    if ids:
        # Ordering by an expression keeps SQLite from walking the date_added index for the
        # ORDER BY and reading the whole collection to find a few ids; it looks them up in the
        # (collection, stix_id, modified) index and sorts the handful it finds.
        return stmt.order_by(
            func.coalesce(StixObject.date_added, StixObject.date_added), StixObject.id
        ).limit(limit)
    return stmt.order_by(StixObject.date_added, StixObject.id).limit(limit)


def any_version(actor: Actor, on: date, collection_id: str, stix_id: str) -> Select[tuple[int]]:
    return (
        select(StixObject.id)
        .where(
            StixObject.collection_id == collection_id,
            StixObject.stix_id == stix_id,
            readable_by(actor, on),
        )
        .limit(1)
    )


def collections() -> Select[tuple[TaxiiCollection]]:
    return select(TaxiiCollection).order_by(TaxiiCollection.created_at, TaxiiCollection.id)


def grants(collection_ids: Sequence[str]) -> Select[tuple[TaxiiGrant]]:
    return select(TaxiiGrant).where(TaxiiGrant.collection_id.in_(collection_ids))


def organisations_of(state: str, on: date) -> Select[tuple[str]]:
    """The organisations a state is a full member of on a day."""
    return select(Membership.organisation_code).where(
        Membership.state_code == state,
        Membership.status == MembershipStatus.member.value,
        _current(Membership, on),
    )


def versions_of(collection_id: str, stix_ids: Sequence[str]) -> Select[tuple[str, datetime | None]]:
    return select(StixObject.stix_id, StixObject.modified).where(
        StixObject.collection_id == collection_id, StixObject.stix_id.in_(stix_ids)
    )


def row_ids(collection_id: str, first: datetime, last: datetime) -> Select[tuple[int, datetime]]:
    """The rows one submission wrote: its date_added values are its own, one tick apart."""
    return select(StixObject.id, StixObject.date_added).where(
        StixObject.collection_id == collection_id,
        StixObject.date_added >= first,
        StixObject.date_added <= last,
    )


_THEIRS = aliased(StixObject)
_MINE_VALUE = aliased(StixObservable)
_THEIR_VALUE = aliased(StixObservable)


def correlated(actor: Actor, on: date, stix_id: str) -> Select[Any]:
    """Pairs of (this object's value, another state's object carrying it), both visible.

    Values meet when equal, or for IPv4 when one network contains the other.
    """
    mine, theirs, other = _MINE_VALUE, _THEIR_VALUE, _THEIRS
    meets = and_(
        theirs.kind == mine.kind,
        or_(
            theirs.value == mine.value,
            and_(
                mine.kind == "ipv4",
                theirs.low <= mine.low,
                theirs.high >= mine.high,
            ),
            and_(
                mine.kind == "ipv4",
                theirs.low >= mine.low,
                theirs.high <= mine.high,
            ),
        ),
    )
    return (
        select(
            other.stix_id,
            other.type,
            other.collection_id,
            other.submitter_state,
            mine.kind,
            mine.value,
            theirs.value.label("their_value"),
        )
        .select_from(StixObject)
        .join(mine, mine.object_id == StixObject.id)
        .join(theirs, meets)
        .join(other, other.id == theirs.object_id)
        .where(
            StixObject.stix_id == stix_id,
            readable_by(actor, on),
            readable_by(actor, on, other),
            other.stix_id != stix_id,
            or_(
                other.submitter_state.is_(None),
                StixObject.submitter_state.is_(None),
                other.submitter_state != StixObject.submitter_state,
            ),
        )
        .limit(1000)
    )


@dataclass(frozen=True)
class SearchFilters:
    text: str | None = None
    types: tuple[str, ...] = ()
    tlp: tuple[str, ...] = ()
    submitter: str | None = None
    collection: str | None = None


def search(actor: Actor, on: date, filters: SearchFilters) -> Select[tuple[StixObject]]:
    """The newest version the reader may see of each object matching the filters.

    "Newest" is chosen among the visible versions only, so a later version released more
    narrowly never hides an earlier one the reader may see, nor betrays that it exists.
    """
    newer = _OTHER
    stmt = select(StixObject).where(
        readable_by(actor, on),
        ~exists().where(
            newer.stix_id == StixObject.stix_id,
            newer.collection_id == StixObject.collection_id,
            func.coalesce(newer.modified, newer.date_added)
            > func.coalesce(StixObject.modified, StixObject.date_added),
            readable_by(actor, on, newer),
        ),
    )
    if filters.text:
        stmt = stmt.where(func.lower(StixObject.body).contains(filters.text.lower()))
    if filters.types:
        stmt = stmt.where(StixObject.type.in_(filters.types))
    if filters.tlp:
        stmt = stmt.where(StixObject.tlp.in_(filters.tlp))
    if filters.submitter:
        stmt = stmt.where(StixObject.submitter_state == filters.submitter)
    if filters.collection:
        stmt = stmt.where(StixObject.collection_id == filters.collection)
    return stmt
