"""Moving STIX 2.1 in and out of the store: bundle files, medallion data files, and bundles of
what one reader may see.

Imports go through ``service.submit`` chunk by chunk, so every object is validated, released
and stored exactly as a TAXII POST would store it, and a re-run reports "already stored".
Exports start from ``repository.visible_to``, the one rule of release control. Like the
service, these functions flush and never commit: the command that calls them owns the
transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from indivisible.auth import repository as auth_repository
from indivisible.auth import service as auth_service
from indivisible.auth.principal import Actor
from indivisible.errors import InvalidInput, NotFound, PermissionDenied
from indivisible.i18n import _
from indivisible.sharing import pushes, repository, service
from indivisible.sharing.models import StixObject, TaxiiCollection
from indivisible.sharing.schemas import (
    CollectionCreate,
    Distribution,
    Grant,
    Grantee,
    Release,
    SubmitResult,
)

# How many objects go to ``service.submit`` at once: one validation pass, one insert.
DEFAULT_CHUNK = 500
# The message ``service.submit`` gives an object version that was stored before.
ALREADY_STORED = "already stored"
# Medallion keeps its own bookkeeping inside each object: ``__meta`` (date_added, media type)
# in the memory backend's newer file format, ``_date_added`` in 3.0.0's. Neither is STIX.
MEDALLION_HIDDEN = ("__meta", "_date_added")
DISCOVERY = "/discovery"

# Told how many more objects have been handled, after each chunk.
Progress = Callable[[int], None]


def actor_for_username(session: Session, username: str) -> Actor:
    """The actor an account acts as, for commands run "as" someone from the console."""
    principal = session.scalars(auth_repository.principal_by_username(username)).first()
    if principal is None:
        raise NotFound(
            _("No principal {username}."), code="unknown_principal", params={"username": username}
        )
    if not principal.active:
        raise PermissionDenied(_("This account is disabled."), code="account_disabled")
    return auth_service.actor_for(session, principal)


def ensure_submitter(actor: Actor) -> None:
    """Refuses, before any work, an account that could not submit what an import brings."""
    if not service.may_submit(actor):
        raise PermissionDenied(
            _("Only a state's liaison officers submit objects on its behalf."),
            code="role_required",
        )


# --- Bundles in ---------------------------------------------------------------------------------


def read_json(path: Path) -> Any:
    """A JSON file, parsed whole: bundles of tens of megabytes (an ATT&CK release) fit."""
    try:
        with path.open(encoding="utf-8-sig") as handle:
            return json.load(handle)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(
            _("The file is not valid JSON: {error}"),
            code="invalid_json",
            field="file",
            params={"error": str(exc)[:200]},
        ) from None


def bundle_objects(data: Any) -> list[Any]:
    """The objects of a STIX bundle (``{"type": "bundle", "objects": [...]}``) or of a TAXII
    envelope (``{"objects": [...]}``); each object is checked later, one by one."""
    if isinstance(data, dict) and "type" in data and data["type"] != "bundle":
        raise InvalidInput(
            _('A STIX bundle has the type "bundle".'), code="not_a_bundle", field="type"
        )
    # A bundle or an envelope with nothing in it may leave "objects" out.
    objects = None
    if isinstance(data, dict) and data.keys() & {"type", "objects", "more", "next"}:
        objects = data.get("objects", [])
    if not isinstance(objects, list):
        raise InvalidInput(
            _(
                "The file must hold a STIX bundle or a TAXII envelope: a JSON object with a list"
                " of objects."
            ),
            code="not_a_bundle",
            field="objects",
        )
    return objects


def _chunks(objects: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(objects)
    while chunk := list(islice(iterator, size)):
        yield chunk


def import_bundle(
    session: Session,
    actor: Actor,
    collection: TaxiiCollection,
    objects: Iterable[Any],
    release: Release | None = None,
    chunk: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
    signed_objects_required: bool = False,
) -> SubmitResult:
    """Submits the objects to a collection in chunks, with the release given (by default the
    collection's). Each invalid object is refused with its reason and the others are stored;
    an object version stored before is a success with the message "already stored".
    ``signed_objects_required``: the node's rule on objects their state did not sign."""
    proof = pushes.Proof(None, False, signed_objects_required)
    result = SubmitResult()
    submitted = False
    for part in _chunks(objects, max(chunk, 1)):
        outcome = service.submit(session, actor, collection, part, release, proof)
        result.successes.extend(outcome.successes)
        result.failures.extend(outcome.failures)
        submitted = True
        if progress is not None:
            progress(len(part))
    if not submitted:
        # Nothing to store, but who submits and the release are still checked.
        service.submit(session, actor, collection, [], release, proof)
    return result


def collection_for_import(session: Session, actor: Actor, collection_id: str) -> TaxiiCollection:
    """The collection, if the actor may add objects to it as a TAXII client could."""
    found = session.get(TaxiiCollection, collection_id) if len(collection_id) <= 36 else None
    root = service.root_of(found) if found is not None else service.NODE_ROOT
    return service.access_to(session, actor, root, collection_id, need="write").collection


@dataclass(frozen=True)
class Counts:
    stored: int
    already_stored: int
    refused: int


def counts(result: SubmitResult) -> Counts:
    again = sum(1 for o in result.successes if o.message == ALREADY_STORED)
    return Counts(len(result.successes) - again, again, len(result.failures))


# --- Medallion data files ----------------------------------------------------------------------


@dataclass
class MedallionCollection:
    """One collection of a medallion data file, and where and how it was imported."""

    api_root: str
    source_id: str
    title: str
    objects: list[Any]
    description: str | None = None
    alias: str | None = None
    can_read: bool = True
    can_write: bool = True
    # Filled in by the import.
    collection_id: str = ""
    id_kept: bool = False
    alias_kept: bool = False
    result: SubmitResult = field(default_factory=SubmitResult)


def _not_medallion(where: str) -> InvalidInput:
    return InvalidInput(
        _("Not a medallion data file: {field} is missing or has the wrong type."),
        code="not_medallion",
        field=where,
        params={"field": where},
    )


def _strip(obj: Any) -> Any:
    if not isinstance(obj, dict):
        return obj
    return {k: v for k, v in obj.items() if k not in MEDALLION_HIDDEN}


def medallion_collections(data: Any) -> list[MedallionCollection]:
    """The collections of medallion's memory-backend data file, with their objects.

    The file maps ``/discovery`` to the discovery resource and each API root's name to
    ``{"information", "status", "collections"}``. Collections are a list in medallion 3.0.0
    (with a ``manifest`` beside the objects) and a mapping by id in the later format (with
    ``__meta`` in each object); both are read. Manifests and statuses are not imported.
    """
    if not isinstance(data, dict):
        raise _not_medallion("file")
    found: list[MedallionCollection] = []
    for root, api in data.items():
        if root == DISCOVERY:
            continue
        if not isinstance(api, dict) or not ({"information", "collections"} & api.keys()):
            raise _not_medallion(str(root)[:100])
        raw = api.get("collections", [])
        if isinstance(raw, dict):
            raw = list(raw.values())
        if not isinstance(raw, list):
            raise _not_medallion(f"{root}.collections")
        for n, entry in enumerate(raw):
            where = f"{root}.collections[{n}]"
            if not isinstance(entry, dict):
                raise _not_medallion(where)
            for name in ("id", "title"):
                if not isinstance(entry.get(name), str):
                    raise _not_medallion(f"{where}.{name}")
            objects = entry.get("objects", [])
            if not isinstance(objects, list):
                raise _not_medallion(f"{where}.objects")
            description, alias = entry.get("description"), entry.get("alias")
            found.append(
                MedallionCollection(
                    api_root=str(root),
                    source_id=entry["id"],
                    title=entry["title"],
                    objects=[_strip(obj) for obj in objects],
                    description=description if isinstance(description, str) else None,
                    alias=alias if isinstance(alias, str) else None,
                    can_read=entry.get("can_read", True) is not False,
                    can_write=entry.get("can_write", True) is not False,
                )
            )
    return found


def _canonical_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _valid_alias(alias: str) -> bool:
    """The alias rule of ``CollectionCreate``, asked of the schema itself."""
    try:
        CollectionCreate(title="-", alias=alias, release=Release(distribution=Distribution.node))
    except ValidationError:
        return False
    return True


def import_medallion(
    session: Session,
    actor: Actor,
    data: Any,
    *,
    creator: Actor,
    release: Release,
    organisation: str | None = None,
    chunk: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
    signed_objects_required: bool = False,
) -> list[MedallionCollection]:
    """Creates one collection (as ``creator``) per collection of a medallion data file and
    submits its objects as ``actor``, a liaison officer.

    A collection keeps medallion's id when that is a UUID no other collection has, and its
    alias when that is valid and free under the API root; otherwise it gets a new id or no
    alias, and the report says so. Every collection is created under ``organisation``'s API
    root (none: the node's) with the release given; anyone may read or write it as medallion's
    ``can_read`` and ``can_write`` say. Objects keep their ids and versions; medallion's
    bookkeeping is dropped, and Indivisible gives each object its own date_added.
    """
    ensure_submitter(actor)
    found = medallion_collections(data)
    root = (organisation or service.NODE_ROOT).lower()
    aliases = {c.alias for c in service.collections_in(session, root) if c.alias}
    for entry in found:
        keep_id = (
            _canonical_uuid(entry.source_id)
            and session.get(TaxiiCollection, entry.source_id) is None
        )
        made = service.create_collection(
            session,
            creator,
            CollectionCreate(
                title=entry.title[:200],
                description=(entry.description or "")[:5000] or None,
                organisation=organisation,
                release=release,
                grants=[
                    Grant(
                        grantee=Grantee.everyone,
                        can_read=entry.can_read,
                        can_write=entry.can_write,
                    )
                ],
            ),
            collection_id=entry.source_id if keep_id else None,
        )
        entry.id_kept = bool(keep_id)
        if entry.alias is not None and entry.alias not in aliases and _valid_alias(entry.alias):
            made.alias = entry.alias
            aliases.add(entry.alias)
            entry.alias_kept = True
            session.flush()
        entry.collection_id = made.id
        entry.result = import_bundle(
            session,
            actor,
            made,
            entry.objects,
            chunk=chunk,
            progress=progress,
            signed_objects_required=signed_objects_required,
        )
    return found


# --- Bundles out --------------------------------------------------------------------------------


def _readable_collections(session: Session, actor: Actor, collection_id: str | None) -> list[str]:
    if collection_id is not None:
        found = session.get(TaxiiCollection, collection_id) if len(collection_id) <= 36 else None
        root = service.root_of(found) if found is not None else service.NODE_ROOT
        service.access_to(session, actor, root, collection_id, need="read")
        return [collection_id]
    return [
        access.collection.id
        for root in service.api_roots(session)
        for access in service.collections_for(session, actor, root)
        if access.can_read
    ]


def _newer(candidate: datetime | None, than: datetime | None) -> bool:
    if candidate is None:
        return False
    return than is None or service.as_utc(candidate) > service.as_utc(than)


def _first(entry: tuple[tuple[datetime, int], datetime | None, str]) -> tuple[datetime, int]:
    return entry[0]


def export_bundle(
    session: Session,
    actor: Actor,
    collection_id: str | None = None,
    *,
    all_versions: bool = False,
    on: date | None = None,
) -> dict[str, Any]:
    """A STIX 2.1 bundle of what the actor may read: in one collection, or in every collection
    they may read over TAXII, and within those only the versions their release lets them see.

    By default each object appears once, in the newest version the actor may see (TAXII's
    default); with ``all_versions`` every visible version appears once. Objects are in the
    order they were added; a bundle with nothing in it has no ``objects``.
    """
    day = on or date.today()
    collections = _readable_collections(session, actor, collection_id)
    # (date_added, row id) orders the output; the key is one object, or one version of it.
    chosen: dict[Any, tuple[tuple[datetime, int], datetime | None, str]] = {}
    if collections:
        stmt = (
            repository.visible_to(actor, day)
            .where(StixObject.collection_id.in_(collections))
            .order_by(StixObject.date_added, StixObject.id)
            .execution_options(yield_per=1000)
        )
        for row in session.scalars(stmt):
            modified = None if row.modified is None else service.as_utc(row.modified)
            order = (service.as_utc(row.date_added), row.id)
            key: Any = (row.stix_id, modified) if all_versions else row.stix_id
            before = chosen.get(key)
            if before is None or (not all_versions and _newer(modified, before[1])):
                chosen[key] = (order, modified, row.body)
    bundle: dict[str, Any] = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}"}
    if chosen:
        bundle["objects"] = [
            json.loads(body) for _order, _modified, body in sorted(chosen.values(), key=_first)
        ]
    return bundle
