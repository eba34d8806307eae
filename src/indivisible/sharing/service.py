"""Sharing rules: what may be submitted, how each object is validated, released and stored.

Services flush, never commit: the request or command that calls them owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, text
from sqlalchemy.orm import Session

from indivisible import jsonio
from indivisible.audit.service import record_change
from indivisible.auth.models import StateKey
from indivisible.auth.principal import Actor, Role
from indivisible.errors import (
    BadRequest,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
)
from indivisible.i18n import _
from indivisible.registry.models import Organisation, State
from indivisible.sharing import correlation, paging, pushes, repository, signatures
from indivisible.sharing.markings import FEDERABLE, tlp_of
from indivisible.sharing.models import (
    PushReceipt,
    SharingGroup,
    SharingGroupMember,
    StixObject,
    StixObjectRecipient,
    StixObservable,
    TaxiiCollection,
    TaxiiGrant,
    TaxiiStatus,
)
from indivisible.sharing.repository import Filters, StoredVersion
from indivisible.sharing.schemas import (
    CollectionCreate,
    Distribution,
    Grantee,
    GroupCreate,
    GroupRead,
    MemberCreate,
    ObjectRead,
    Outcome,
    ReceiptRead,
    Release,
    SubmitResult,
    VersionRead,
)

logger = logging.getLogger(__name__)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,249}--[0-9a-fA-F-]{36}$")


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _check_release(session: Session, release: Release) -> int | None:
    if (
        release.distribution is Distribution.organisation
        and release.organisation is not None
        and session.get(Organisation, release.organisation) is None
    ):
        raise InvalidInput(
            _("Unknown organisation {code}."),
            code="unknown_organisation",
            field="organisation",
            params={"code": release.organisation},
        )
    for code in release.states:
        if session.get(State, code) is None:
            raise InvalidInput(
                _("Unknown state code {code}."),
                code="unknown_state",
                field="states",
                params={"code": code},
            )
    if release.distribution is Distribution.group and release.group is not None:
        group = session.scalars(
            select(SharingGroup).where(SharingGroup.name == release.group)
        ).first()
        if group is None:
            raise InvalidInput(
                _("Unknown sharing group {name}."),
                code="unknown_group",
                field="group",
                params={"name": release.group},
            )
        return group.id
    return None


def _first_date_added(session: Session) -> datetime:
    """Where this submission's date_added values start: now, or just after the newest stored
    one, so that paging by date_added never skips or repeats an object."""
    now = datetime.now(UTC)
    latest = session.scalar(select(func.max(StixObject.date_added)))
    if latest is not None:
        latest = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
        if latest >= now:
            return latest + timedelta(microseconds=1)
    return now


def may_submit(actor: Actor) -> bool:
    """A state's liaison officer, or a linked node's account pushing what its node releases."""
    return (actor.role is Role.liaison and actor.state_code is not None) or actor.role is Role.node


def submit(
    session: Session,
    actor: Actor,
    collection: TaxiiCollection,
    objects: Sequence[Any],
    release: Release | None = None,
    proof: pushes.Proof | None = None,
) -> SubmitResult:
    """Store each valid object with the release given (by default the collection's); refuse
    each invalid one with its reason, a state signature that does not verify included.

    One bad object does not stop the others. The valid ones are written in one statement.
    What a linked node's account posts is stored as received from that node: no submitting
    state, and never forwarded again; ``proof`` is its signature header and this node's rule
    on unsigned posts (none given: unsigned, refused), checked before anything is stored.
    """
    if not may_submit(actor):
        raise PermissionDenied(
            _("Only a state's liaison officers submit objects on its behalf."),
            code="role_required",
        )
    proof = proof or pushes.Proof(None, False)
    if actor.role is Role.node:
        receipt = pushes.receive(session, actor, collection.id, list(objects), proof)
        return receive(
            session,
            collection,
            objects,
            origin=receipt.origin,
            receipt=receipt.id,
            signed_objects_required=proof.signed_objects_required,
        )
    return _store(
        session,
        collection,
        objects,
        release or release_of(collection),
        submitter_state=actor.state_code,
        submitter_principal=actor.principal_id,
        origin=None,
        seen=repository.readable_by(actor, date.today()),
        signed_objects_required=proof.signed_objects_required,
    )


def receive(
    session: Session,
    collection: TaxiiCollection,
    objects: Sequence[Any],
    origin: str,
    receipt: int | None = None,
    signed_objects_required: bool = False,
) -> SubmitResult:
    """Store objects that came from the linked node ``origin`` with the collection's release;
    ``receipt``: the push they came in (none when this node pulled them).

    They were released as far as this node and no further, so they never federate onwards.
    """
    release = release_of(collection).model_copy(update={"federate": False})
    return _store(
        session,
        collection,
        objects,
        release,
        submitter_state=None,
        submitter_principal=None,
        origin=origin,
        # A linked node may read what federates, and knows what it sent before.
        seen=or_(repository.federable(), StixObject.origin_node == origin),
        receipt=receipt,
        signed_objects_required=signed_objects_required,
    )


def _store(
    session: Session,
    collection: TaxiiCollection,
    objects: Sequence[Any],
    release: Release,
    submitter_state: str | None,
    submitter_principal: int | None,
    origin: str | None,
    seen: ColumnElement[bool],
    receipt: int | None = None,
    signed_objects_required: bool = False,
) -> SubmitResult:
    """``seen``: which stored versions the submitter may see. A version it may see again is a
    retry (or a re-share of what it was given), answered "already stored" and not stored
    twice. One it may not see is stored as its own and answered as any new version is: saying
    "already stored" there would tell it that a version it was never released exists. So an id
    and version are unique within a collection among what one submitter may see, and a reader
    who may see two submitters' claims to the same version gets both, each with its own
    submitter and release.

    An object that carries its state's signature is stored only if the signature verifies
    against that state's keys here (``signatures``), whoever submits it: a liaison officer
    sharing again what another state signed, or a linked node forwarding it."""
    # Imported here: the OASIS validator takes over a second to import (its JSON Schema
    # formats build a grammar), which every CLI command would pay; the node imports it when
    # it starts (app.py), so no request does.
    from indivisible.sharing import validation

    group_id = _check_release(session, release)
    result = SubmitResult()
    valid: list[tuple[dict[str, Any], str | None, datetime | None, signatures.Claim | None]] = []
    now = datetime.now(UTC)
    for obj in objects:
        version = _version_text(obj)
        errors = validation.errors(obj)
        claim: signatures.Claim | None = None
        refused: signatures.Refusal | None = None
        if not errors:
            claim, refused = signatures.check(session, obj, now, required=signed_objects_required)
            errors = [refused.text()] if refused else []
        if errors:
            stix_id = obj.get("id") if isinstance(obj, dict) else None
            result.failures.append(
                Outcome(
                    id=stix_id if isinstance(stix_id, str) else None,
                    version=version,
                    message="; ".join(errors),
                    refusal=refused,
                )
            )
            continue
        valid.append((obj, version, _timestamp(version), claim))
    _serialise_writers(session)
    stored = _stored_versions(
        session, collection.id, [obj["id"] for obj, _v, _m, _c in valid], seen
    )
    # One look at the newest date_added per submission; each stored object takes the next tick.
    date_added = _first_date_added(session)
    rows: list[dict[str, Any]] = []
    found: list[set[correlation.Observable]] = []
    for obj, version, modified, claim in valid:
        key = (obj["id"], _utc_or_none(modified))
        if key in stored:
            # The same version again: TAXII clients retry, and a retry must not fail.
            result.successes.append(
                Outcome(id=obj["id"], version=version, message="already stored")
            )
            continue
        stored.add(key)
        tlp = tlp_of(obj.get("object_marking_refs"))
        rows.append(
            {
                "collection_id": collection.id,
                "stix_id": obj["id"],
                "type": obj["type"],
                "spec_version": obj.get("spec_version", "2.1"),
                "created": _timestamp(obj.get("created")),
                "modified": modified,
                "date_added": date_added,
                "body": jsonio.dumps(obj),
                "submitter_state": submitter_state,
                "submitter_principal": submitter_principal,
                "tlp": tlp.value,
                "distribution": release.distribution.value,
                "distribution_organisation": release.organisation,
                "distribution_partners": release.include_partners,
                "distribution_group": group_id,
                "federate": release.federate and tlp in FEDERABLE,
                "origin_node": origin,
                "receipt_id": receipt,
                "signer_state": claim.state if claim else None,
                "signer_key": claim.key_id if claim else None,
            }
        )
        found.append(correlation.observables(obj))
        date_added += timedelta(microseconds=1)
        result.successes.append(Outcome(id=obj["id"], version=version))
    _insert(session, rows, sorted(set(release.states)), found)
    return result


def _version_text(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return None
    version = obj.get("modified") or obj.get("created")
    return version if isinstance(version, str) else None


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment).astimezone(UTC)


def _serialise_writers(session: Session) -> None:
    """On PostgreSQL, submissions take turns, so that date_added grows in commit order and a
    client paging by added_after never misses an object committed late. (SQLite has one
    writer at a time already.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITER_LOCK})


# An arbitrary constant naming the lock; any 64-bit integer unused elsewhere would do.
_WRITER_LOCK = 0x1D1_5AB1E


def _stored_versions(
    session: Session, collection_id: str, ids: Sequence[str], seen: ColumnElement[bool]
) -> set[tuple[str, datetime | None]]:
    found: set[tuple[str, datetime | None]] = set()
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        for stix_id, modified in session.execute(
            repository.versions_of(collection_id, unique[start : start + 500]).where(seen)
        ):
            found.add((stix_id, _utc_or_none(modified)))
    return found


def _insert(
    session: Session,
    rows: list[dict[str, Any]],
    recipients: list[str],
    found: list[set[correlation.Observable]],
) -> None:
    if not rows:
        return
    # Writers take turns (_serialise_writers, and SQLite's one writer), so no version this
    # submission found unstored can have been stored by another meanwhile.
    session.execute(insert(StixObject), rows)
    # Each row of one submission has a date_added of its own: that finds its new id.
    index = {as_utc(row["date_added"]): n for n, row in enumerate(rows)}
    written = session.execute(
        repository.row_ids(rows[0]["collection_id"], rows[0]["date_added"], rows[-1]["date_added"])
    ).all()
    ids = [(row_id, index[as_utc(added)]) for row_id, added in written if as_utc(added) in index]
    if recipients:
        session.execute(
            insert(StixObjectRecipient),
            [
                {"object_id": row_id, "state_code": code}
                for row_id, _n in ids
                for code in recipients
            ],
        )
    values = [
        {"object_id": row_id, "kind": o.kind, "value": o.value, "low": o.low, "high": o.high}
        for row_id, n in ids
        for o in found[n]
    ]
    if values:
        session.execute(insert(StixObservable), values)
    session.flush()


def visible_objects(session: Session, actor: Actor, on: date | None = None) -> list[StixObject]:
    stmt = repository.visible_to(actor, on or date.today()).order_by(
        StixObject.date_added, StixObject.id
    )
    return list(session.scalars(stmt))


def get_object(session: Session, actor: Actor, stix_id: str) -> list[StixObject]:
    """Every version of an object the actor may see; missing and invisible look the same."""
    rows = list(
        session.scalars(
            repository.visible_to(actor, date.today())
            .where(StixObject.stix_id == stix_id)
            .order_by(StixObject.modified)
        )
    )
    if not rows:
        raise NotFound(_("No object {id}."), code="unknown_object", params={"id": stix_id})
    return rows


# --- Collections -----------------------------------------------------------------------------

NODE_ROOT = "node"
# The most objects one envelope may carry: a bound on the work one request can ask for.
MAX_ENVELOPE_OBJECTS = 10_000
DEFAULT_PAGE = 100
MAX_PAGE = 1000
# Status resources are kept a week (TAXII asks for at least 24 hours).
STATUS_KEPT = timedelta(days=7)


def release_of(collection: TaxiiCollection) -> Release:
    group = None
    if collection.distribution_group is not None:
        group = collection_group_name(collection)
    return Release(
        distribution=Distribution(collection.distribution),
        organisation=collection.distribution_organisation,
        include_partners=collection.distribution_partners,
        states=collection.distribution_states.split(),
        group=group,
        federate=collection.federate,
    )


def collection_group_name(collection: TaxiiCollection) -> str | None:
    session = Session.object_session(collection)
    if session is None or collection.distribution_group is None:
        return None
    group = session.get(SharingGroup, collection.distribution_group)
    return group.name if group else None


def _canonical_uuid(value: str) -> str | None:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    return str(parsed) if str(parsed) == value else None


def root_of(collection: TaxiiCollection) -> str:
    return (collection.organisation_code or NODE_ROOT).lower()


def create_collection(
    session: Session, actor: Actor, data: CollectionCreate, *, collection_id: str | None = None
) -> TaxiiCollection:
    """A node admin creates any collection; a secretariat one under its own organisation.

    ``collection_id`` keeps an id the collection had elsewhere (a medallion import), so that
    clients' URLs still work; it must be a UUID no collection here has.
    """
    if actor.role is Role.secretariat:
        if data.organisation is None or data.organisation != actor.organisation_code:
            raise PermissionDenied(
                _("A secretariat creates collections only under its own organisation."),
                code="not_own_organisation",
            )
    elif actor.role is not Role.admin:
        raise PermissionDenied(
            _("Only node administrators and secretariats create collections."),
            code="role_required",
        )
    if data.organisation is not None and session.get(Organisation, data.organisation) is None:
        raise InvalidInput(
            _("Unknown organisation {code}."),
            code="unknown_organisation",
            field="organisation",
            params={"code": data.organisation},
        )
    group_id = _check_release(session, data.release)
    for grant in data.grants:
        if grant.state is not None and session.get(State, grant.state) is None:
            raise InvalidInput(
                _("Unknown state code {code}."),
                code="unknown_state",
                field="grants.state",
                params={"code": grant.state},
            )
        if grant.organisation is not None and session.get(Organisation, grant.organisation) is None:
            raise InvalidInput(
                _("Unknown organisation {code}."),
                code="unknown_organisation",
                field="grants.organisation",
                params={"code": grant.organisation},
            )
    taken = collection_id is not None and (
        _canonical_uuid(collection_id) is None
        or session.get(TaxiiCollection, collection_id) is not None
    )
    if collection_id is not None and taken:
        raise Conflict(
            _("A collection id must be a UUID not already in use: {id}"),
            code="collection_id_taken",
            field="id",
            params={"id": collection_id[:60]},
        )
    collection = TaxiiCollection(
        id=collection_id or str(uuid.uuid4()),
        organisation_code=data.organisation,
        title=data.title,
        description=data.description,
        alias=data.alias,
        distribution=data.release.distribution.value,
        distribution_organisation=data.release.organisation,
        distribution_partners=data.release.include_partners,
        distribution_group=group_id,
        distribution_states=" ".join(sorted(set(data.release.states))),
        federate=data.release.federate,
        created_at=datetime.now(UTC),
    )
    session.add(collection)
    session.flush()
    seen: set[tuple[str, str | None, str | None]] = set()
    for grant in data.grants:
        key = (grant.grantee.value, grant.organisation, grant.state)
        if key in seen:
            continue
        seen.add(key)
        session.add(
            TaxiiGrant(
                collection_id=collection.id,
                grantee=grant.grantee.value,
                organisation_code=grant.organisation,
                state_code=grant.state,
                can_read=grant.can_read,
                can_write=grant.can_write,
            )
        )
    session.flush()
    return collection


@dataclass(frozen=True)
class Access:
    collection: TaxiiCollection
    can_read: bool
    can_write: bool


def _accesses(
    session: Session, actor: Actor, collections: Sequence[TaxiiCollection], on: date
) -> list[Access]:
    """What the actor may do with each collection, from its grants; no grant, no access."""
    if not collections or (actor.state_code is None and actor.organisation_code is None):
        return []
    organisations: set[str] = set()
    if actor.organisation_code is not None:
        organisations.add(actor.organisation_code)
    if actor.state_code is not None:
        organisations.update(session.scalars(repository.organisations_of(actor.state_code, on)))
    by_collection: dict[str, list[TaxiiGrant]] = {}
    for grant in session.scalars(repository.grants([c.id for c in collections])):
        by_collection.setdefault(grant.collection_id, []).append(grant)
    result = []
    for collection in collections:
        read = write = False
        for grant in by_collection.get(collection.id, []):
            applies = (
                grant.grantee == Grantee.everyone.value
                or (
                    grant.grantee == Grantee.organisation.value
                    and grant.organisation_code in organisations
                )
                or (grant.grantee == Grantee.state.value and grant.state_code == actor.state_code)
            )
            if applies:
                read = read or grant.can_read
                write = write or grant.can_write
        write = write and may_submit(actor)
        if read or write:
            result.append(Access(collection, read, write))
    return result


def api_roots(session: Session) -> list[str]:
    """The node's API roots: the node's own, and one per organisation that has collections."""
    roots = {root_of(c) for c in session.scalars(repository.collections())}
    return [NODE_ROOT, *sorted(roots - {NODE_ROOT})]


def require_root(session: Session, root: str) -> str:
    if root not in api_roots(session):
        raise NotFound(_("No API root {root}."), code="unknown_api_root", params={"root": root})
    return root


def collections_in(session: Session, root: str) -> list[TaxiiCollection]:
    return [c for c in session.scalars(repository.collections()) if root_of(c) == root]


def collections_for(session: Session, actor: Actor, root: str) -> list[Access]:
    require_root(session, root)
    return _accesses(session, actor, collections_in(session, root), date.today())


def access_to(
    session: Session, actor: Actor, root: str, collection_id: str, *, need: str = "read"
) -> Access:
    """The actor's access to a collection; a collection they may not use at all looks missing."""
    collection = session.get(TaxiiCollection, collection_id)
    found = (
        _accesses(session, actor, [collection], date.today())
        if collection is not None and root_of(collection) == root
        else []
    )
    if not found:
        raise NotFound(
            _("No collection {id}."), code="unknown_collection", params={"id": collection_id}
        )
    access = found[0]
    if need == "write" and not access.can_write:
        raise PermissionDenied(
            _("You may not add objects to this collection."), code="collection_read_only"
        )
    if need == "read" and not access.can_read:
        raise PermissionDenied(_("You may not read this collection."), code="collection_write_only")
    return access


# --- TAXII filters and pages ------------------------------------------------------------------

_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{0,249}$")
_SPEC = re.compile(r"^[0-9]\.[0-9]$")
_MAX_VALUES = 100
_FILTERS = {"match[id]", "match[type]", "match[version]", "match[spec_version]"}


def parse_timestamp(value: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not value.endswith("Z"):
        raise BadRequest(
            _("{field} must be a UTC timestamp such as 2024-01-31T12:00:00.000Z."),
            code="bad_timestamp",
            field=field,
            params={"field": field},
        )
    return moment.astimezone(UTC)


def _values(query: Mapping[str, list[str]], name: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    values = [v.strip() for raw in query.get(name, []) for v in raw.split(",")]
    if len(values) > _MAX_VALUES:
        raise BadRequest(
            _("{field} takes at most {limit} values."),
            code="too_many_values",
            field=name,
            params={"field": name, "limit": _MAX_VALUES},
        )
    for value in values:
        if not pattern.match(value):
            raise BadRequest(
                _("{field} has a malformed value: {value}"),
                code="bad_filter",
                field=name,
                params={"field": name, "value": value[:100]},
            )
    return tuple(values)


@dataclass(frozen=True)
class PageRequest:
    filters: Filters
    limit: int
    next: str | None
    # The filters in canonical form: a next token is valid only with the same ones.
    digest: str


def parse_page_request(
    query: Mapping[str, list[str]], allowed: frozenset[str], default_version: str
) -> PageRequest:
    """Reads TAXII query parameters; anything malformed or unsupported is a 400 naming it."""
    for name in query:
        if name.startswith("match[") and name not in allowed:
            raise BadRequest(
                _("{field} is not a filter this endpoint supports."),
                code="unsupported_filter",
                field=name,
                params={"field": name},
            )
    versions: list[str | datetime] = []
    for raw in _values(query, "match[version]", re.compile(r"^\S+$")):
        versions.append(
            raw if raw in ("first", "last", "all") else parse_timestamp(raw, "match[version]")
        )
    added = query.get("added_after", [])
    limit_values = query.get("limit", [])
    limit = DEFAULT_PAGE
    if limit_values:
        raw_limit = limit_values[-1]
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            raise BadRequest(
                _("limit must be a positive whole number."), code="bad_limit", field="limit"
            )
        limit = min(int(raw_limit[:9]), MAX_PAGE)
    filters = Filters(
        ids=_values(query, "match[id]", _ID),
        types=_values(query, "match[type]", _TYPE),
        versions=tuple(versions) or (default_version,),
        spec_versions=_values(query, "match[spec_version]", _SPEC),
        added_after=parse_timestamp(added[-1], "added_after") if added else None,
    )
    canonical = json.dumps(
        [
            sorted(filters.ids),
            sorted(filters.types),
            sorted(str(v) for v in filters.versions),
            sorted(filters.spec_versions),
            str(filters.added_after),
        ]
    )
    nexts = query.get("next", [])
    return PageRequest(
        filters=filters,
        limit=limit,
        next=nexts[-1] if nexts else None,
        digest=hashlib.sha256(canonical.encode()).hexdigest()[:24],
    )


OBJECT_FILTERS = frozenset(_FILTERS)
VERSION_FILTERS = frozenset({"match[spec_version]"})
ONE_OBJECT_FILTERS = frozenset({"match[version]", "match[spec_version]"})


@dataclass(frozen=True)
class Page:
    rows: list[StoredVersion]
    more: bool
    next: str | None


def _page(
    session: Session,
    actor: Actor,
    collection_id: str,
    request: PageRequest,
    scope: str,
    on: date | None,
) -> Page:
    key = paging.node_key(session)
    after = paging.read(key, request.next, scope, request.digest) if request.next else None
    stmt, params = repository.page(
        actor, on or date.today(), collection_id, request.filters, after, request.limit
    )
    rows = [StoredVersion(*row) for row in session.execute(stmt, params)]
    more = len(rows) > request.limit
    rows = rows[: request.limit]
    token = None
    if more:
        last = rows[-1]
        token = paging.issue(key, scope, request.digest, (as_utc(last.date_added), last.id))
    return Page(rows, more, token)


def as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything the store writes is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def objects_page(
    session: Session,
    actor: Actor,
    root: str,
    collection_id: str,
    request: PageRequest,
    *,
    on: date | None = None,
) -> Page:
    access_to(session, actor, root, collection_id)
    return _page(session, actor, collection_id, request, f"objects:{collection_id}", on)


def manifest_page(
    session: Session,
    actor: Actor,
    root: str,
    collection_id: str,
    request: PageRequest,
    *,
    on: date | None = None,
) -> Page:
    access_to(session, actor, root, collection_id)
    return _page(session, actor, collection_id, request, f"manifest:{collection_id}", on)


def _one(request: PageRequest, stix_id: str, all_versions: bool) -> PageRequest:
    filters = request.filters
    versions = ("all",) if all_versions else filters.versions
    return PageRequest(
        filters=Filters(
            ids=(stix_id,),
            versions=versions,
            spec_versions=filters.spec_versions,
            added_after=filters.added_after,
        ),
        limit=request.limit,
        next=request.next,
        digest=request.digest,
    )


def _require_visible(
    session: Session, actor: Actor, collection_id: str, stix_id: str, on: date | None = None
) -> None:
    if (
        not _ID.match(stix_id)
        or not session.scalars(
            repository.any_version(actor, on or date.today(), collection_id, stix_id)
        ).first()
    ):
        raise NotFound(_("No object {id}."), code="unknown_object", params={"id": stix_id[:300]})


def object_page(
    session: Session,
    actor: Actor,
    root: str,
    collection_id: str,
    stix_id: str,
    request: PageRequest,
    *,
    on: date | None = None,
) -> Page:
    access_to(session, actor, root, collection_id)
    _require_visible(session, actor, collection_id, stix_id, on)
    return _page(
        session, actor, collection_id, _one(request, stix_id, False), f"object:{collection_id}", on
    )


def versions_page(
    session: Session,
    actor: Actor,
    root: str,
    collection_id: str,
    stix_id: str,
    request: PageRequest,
    *,
    on: date | None = None,
) -> Page:
    access_to(session, actor, root, collection_id)
    _require_visible(session, actor, collection_id, stix_id, on)
    return _page(
        session, actor, collection_id, _one(request, stix_id, True), f"versions:{collection_id}", on
    )


def delete_object(
    session: Session,
    actor: Actor,
    root: str,
    collection_id: str,
    stix_id: str,
    request: PageRequest,
) -> int:
    """Deletes the matching versions; only the state that submitted a version may delete it."""
    access_to(session, actor, root, collection_id, need="write")
    _require_visible(session, actor, collection_id, stix_id)
    stmt, params = repository.page(
        actor,
        date.today(),
        collection_id,
        _one(request, stix_id, "all" in request.filters.versions).filters,
        None,
        MAX_PAGE * 100,
    )
    rows = [StoredVersion(*row) for row in session.execute(stmt, params)]
    if any(row.submitter_state != actor.state_code for row in rows):
        raise PermissionDenied(
            _("Only the state that submitted an object may delete it."), code="not_submitter"
        )
    ids = [row.id for row in rows]
    if ids:
        session.execute(delete(StixObjectRecipient).where(StixObjectRecipient.object_id.in_(ids)))
        session.execute(delete(StixObservable).where(StixObservable.object_id.in_(ids)))
        session.execute(delete(StixObject).where(StixObject.id.in_(ids)))
        session.flush()
    return len(ids)


# --- Posting envelopes and their status --------------------------------------------------------


def post_envelope(
    session: Session,
    actor: Actor,
    root: str,
    collection_id: str,
    envelope: Any,
    proof: pushes.Proof | None = None,
) -> TaxiiStatus:
    """Adds an envelope's objects to a collection and records the outcome as a status."""
    access = access_to(session, actor, root, collection_id, need="write")
    objects = envelope.get("objects") if isinstance(envelope, dict) else None
    if not isinstance(objects, list):
        raise BadRequest(
            _("The body must be a TAXII envelope: a JSON object with a list of objects."),
            code="not_an_envelope",
            field="objects",
        )
    if len(objects) > MAX_ENVELOPE_OBJECTS:
        raise PayloadTooLarge(
            _("An envelope may hold at most {limit} objects; send several."),
            code="too_many_objects",
            params={"limit": MAX_ENVELOPE_OBJECTS},
        )
    result = submit(session, actor, access.collection, objects, proof=proof)
    moment = datetime.now(UTC)
    session.execute(delete(TaxiiStatus).where(TaxiiStatus.request_timestamp < moment - STATUS_KEPT))
    status = TaxiiStatus(
        id=str(uuid.uuid4()),
        collection_id=collection_id,
        principal_id=actor.principal_id,
        request_timestamp=moment,
        total_count=len(objects),
        successes=json.dumps([o.model_dump(exclude_none=True) for o in result.successes]),
        failures=json.dumps([o.model_dump(exclude_none=True) for o in result.failures]),
        pendings="[]",
    )
    session.add(status)
    session.flush()
    return status


def get_status(session: Session, actor: Actor, root: str, status_id: str) -> TaxiiStatus:
    """A status is its poster's: anyone else is told there is none."""
    require_root(session, root)
    status = session.get(TaxiiStatus, status_id) if len(status_id) <= 36 else None
    collection = session.get(TaxiiCollection, status.collection_id) if status else None
    if (
        status is None
        or collection is None
        or root_of(collection) != root
        or status.principal_id is None
        or status.principal_id != actor.principal_id
    ):
        raise NotFound(_("No status {id}."), code="unknown_status", params={"id": status_id[:40]})
    return status


# --- Correlation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Correlation:
    """Another state's report that carries a value this object carries."""

    stix_id: str
    type: str
    collection_id: str
    submitter_state: str | None
    kind: str
    value: str
    # The other report's own value, when it is the network around an address or inside one.
    their_value: str


def correlations(
    session: Session, actor: Actor, stix_id: str, *, on: date | None = None
) -> list[Correlation]:
    """Objects from other states that share an observable with any visible version of this
    one; both sides must be visible to the reader, so nothing invisible is hinted at."""
    day = on or date.today()
    if (
        not _ID.match(stix_id)
        or not session.scalars(
            repository.visible_to(actor, day).where(StixObject.stix_id == stix_id).limit(1)
        ).first()
    ):
        raise NotFound(_("No object {id}."), code="unknown_object", params={"id": stix_id[:300]})
    seen: dict[tuple[str, str, str], Correlation] = {}
    for row in session.execute(repository.correlated(actor, day, stix_id)):
        key = (row.stix_id, row.kind, row.value)
        seen.setdefault(
            key,
            Correlation(
                stix_id=row.stix_id,
                type=row.type,
                collection_id=row.collection_id,
                submitter_state=row.submitter_state,
                kind=row.kind,
                value=row.value,
                their_value=row.their_value,
            ),
        )
    return sorted(
        seen.values(), key=lambda c: (c.submitter_state or "", c.stix_id, c.kind, c.value)
    )


# --- Sharing groups ----------------------------------------------------------------------------

GROUP_MANAGERS = (Role.secretariat, Role.admin)


def _manage_groups(actor: Actor) -> None:
    if actor.role not in GROUP_MANAGERS:
        raise PermissionDenied(
            _("Only the secretariat manages sharing groups."), code="role_required"
        )


def list_groups(session: Session) -> list[SharingGroup]:
    return list(session.scalars(select(SharingGroup).order_by(SharingGroup.name)))


def group_members(session: Session, group_id: int) -> list[SharingGroupMember]:
    return list(
        session.scalars(
            select(SharingGroupMember)
            .where(SharingGroupMember.group_id == group_id)
            .order_by(SharingGroupMember.state_code, SharingGroupMember.organisation_code)
        )
    )


def get_group(session: Session, group_id: int) -> SharingGroup:
    group = session.get(SharingGroup, group_id)
    if group is None:
        raise NotFound(_("No sharing group {id}."), code="unknown_group", params={"id": group_id})
    return group


def create_group(session: Session, actor: Actor, data: GroupCreate) -> SharingGroup:
    _manage_groups(actor)
    if session.scalar(select(SharingGroup.id).where(SharingGroup.name == data.name)):
        raise Conflict(
            _("A sharing group named {name} exists already."),
            code="duplicate_group",
            field="name",
            params={"name": data.name},
        )
    group = SharingGroup(name=data.name, description=data.description, created_at=datetime.now(UTC))
    session.add(group)
    session.flush()
    record_change(
        session,
        actor,
        action="create",
        subject_type="sharing_group",
        subject_key=str(group.id),
        before=None,
        after={"name": group.name},
    )
    return group


def add_member(session: Session, actor: Actor, group_id: int, data: MemberCreate) -> None:
    _manage_groups(actor)
    group = get_group(session, group_id)
    if data.state is not None and session.get(State, data.state) is None:
        raise InvalidInput(
            _("Unknown state code {code}."),
            code="unknown_state",
            field="state",
            params={"code": data.state},
        )
    if data.organisation is not None and session.get(Organisation, data.organisation) is None:
        raise InvalidInput(
            _("Unknown organisation {code}."),
            code="unknown_organisation",
            field="organisation",
            params={"code": data.organisation},
        )
    exists_already = session.scalar(
        select(SharingGroupMember.id).where(
            SharingGroupMember.group_id == group.id,
            SharingGroupMember.state_code == data.state
            if data.state
            else SharingGroupMember.state_code.is_(None),
            SharingGroupMember.organisation_code == data.organisation
            if data.organisation
            else SharingGroupMember.organisation_code.is_(None),
        )
    )
    if exists_already:
        return
    session.add(
        SharingGroupMember(
            group_id=group.id, state_code=data.state, organisation_code=data.organisation
        )
    )
    session.flush()
    record_change(
        session,
        actor,
        action="add_member",
        subject_type="sharing_group",
        subject_key=str(group.id),
        before=None,
        after={"state": data.state, "organisation": data.organisation},
    )


def remove_member(session: Session, actor: Actor, group_id: int, member: str) -> None:
    """Remove a state (alpha-3 code) or an organisation (its code) from a group."""
    _manage_groups(actor)
    group = get_group(session, group_id)
    row = session.scalars(
        select(SharingGroupMember).where(
            SharingGroupMember.group_id == group.id,
            (SharingGroupMember.state_code == member)
            | (SharingGroupMember.organisation_code == member),
        )
    ).first()
    if row is None:
        raise NotFound(
            _("{member} is not in this sharing group."),
            code="unknown_member",
            params={"member": member[:40]},
        )
    session.delete(row)
    session.flush()
    record_change(
        session,
        actor,
        action="remove_member",
        subject_type="sharing_group",
        subject_key=str(group.id),
        before={"member": member},
        after=None,
    )


def delete_group(session: Session, actor: Actor, group_id: int) -> None:
    """Delete a group no object or collection is released to (those would lose readers)."""
    _manage_groups(actor)
    group = get_group(session, group_id)
    used = session.scalar(
        select(func.count())
        .select_from(StixObject)
        .where(StixObject.distribution_group == group.id)
    ) or session.scalar(
        select(func.count())
        .select_from(TaxiiCollection)
        .where(TaxiiCollection.distribution_group == group.id)
    )
    if used:
        raise Conflict(
            _("Objects or collections are released to this group; it cannot be deleted."),
            code="group_in_use",
        )
    session.delete(group)
    session.flush()
    record_change(
        session,
        actor,
        action="delete",
        subject_type="sharing_group",
        subject_key=str(group_id),
        before={"name": group.name},
        after=None,
    )


def group_read(session: Session, group: SharingGroup) -> GroupRead:
    members = group_members(session, group.id)
    return GroupRead(
        id=group.id,
        name=group.name,
        description=group.description,
        states=[m.state_code for m in members if m.state_code],
        organisations=[m.organisation_code for m in members if m.organisation_code],
    )


# --- Search and one object ---------------------------------------------------------------------


def search_objects(
    session: Session,
    actor: Actor,
    filters: repository.SearchFilters,
    *,
    limit: int = 50,
    offset: int = 0,
    on: date | None = None,
) -> tuple[int, list[StixObject]]:
    """The objects the reader may see that match, newest first, and how many match in all."""
    stmt = repository.search(actor, on or date.today(), filters)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(StixObject.date_added.desc(), StixObject.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return total, list(rows)


def version_read(session: Session, row: StixObject) -> VersionRead:
    states = (
        sorted(
            session.scalars(
                select(StixObjectRecipient.state_code).where(
                    StixObjectRecipient.object_id == row.id
                )
            )
        )
        if row.distribution == "states"
        else []
    )
    group = session.get(SharingGroup, row.distribution_group) if row.distribution_group else None
    return VersionRead(
        stix_id=row.stix_id,
        type=row.type,
        collection_id=row.collection_id,
        version=_version_text(json.loads(row.body)),
        date_added=as_utc(row.date_added).isoformat(),
        tlp=row.tlp,
        distribution=row.distribution,
        organisation=row.distribution_organisation,
        include_partners=row.distribution_partners,
        states=states,
        group=group.name if group else None,
        federate=row.federate,
        submitter_state=row.submitter_state,
        origin_node=row.origin_node,
        received=_receipt_read(session.get(PushReceipt, row.receipt_id))
        if row.receipt_id is not None
        else None,
        signer_state=row.signer_state,
        signer_key=row.signer_key,
    )


def _receipt_read(receipt: PushReceipt | None) -> ReceiptRead | None:
    if receipt is None:
        return None
    return ReceiptRead(
        receipt=receipt.id,
        origin=receipt.origin,
        received_at=as_utc(receipt.received_at),
        signed=receipt.signed,
        key_id=receipt.key_id,
        signed_at=as_utc(receipt.signed_at) if receipt.signed_at is not None else None,
    )


def object_view(session: Session, actor: Actor, stix_id: str) -> ObjectRead:
    """An object's newest visible version, its release and its visible history."""
    rows = get_object(session, actor, stix_id) if _ID.match(stix_id) else []
    if not rows:
        raise NotFound(_("No object {id}."), code="unknown_object", params={"id": stix_id[:300]})
    newest = max(rows, key=lambda r: (as_utc(r.modified or r.date_added), as_utc(r.date_added)))
    body = json.loads(newest.body)
    key = session.get(StateKey, newest.signer_key) if newest.signer_key else None
    return ObjectRead(
        object=body,
        release=version_read(session, newest),
        history=[version_read(session, r) for r in rows],
        # Only a signature checked when it was stored is shown as one.
        signature=signatures.block(body, key.public_key if key else None)
        if newest.signer_state
        else {"signed": False, "stix_id": newest.stix_id},
    )


def access_for_submission(session: Session, actor: Actor, collection_id: str) -> TaxiiCollection:
    """The collection, if the actor may post to it; otherwise the same 404 as a missing one."""
    collection = session.get(TaxiiCollection, collection_id)
    if collection is None:
        raise NotFound(
            _("No collection {id}."), code="unknown_collection", params={"id": collection_id}
        )
    return access_to(session, actor, root_of(collection), collection_id, need="write").collection
