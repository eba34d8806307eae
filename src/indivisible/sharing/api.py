"""REST routes of the sharing domain (TAXII has its own, in sharing/taxii.py)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from indivisible.deps import CurrentActor, DbSession, PushProof, RowId
from indivisible.errors import PROBLEM_RESPONSES
from indivisible.registry.schemas import StateCode
from indivisible.sharing import repository, service, signatures, transfer
from indivisible.sharing.markings import Tlp
from indivisible.sharing.schemas import (
    CorrelationRead,
    GroupCreate,
    GroupRead,
    MemberCreate,
    ObjectPage,
    ObjectRead,
    ObjectSubmit,
    SubmitResult,
)

router = APIRouter(prefix="/api/v1/sharing", tags=["sharing"], responses=PROBLEM_RESPONSES)


@router.get("/objects/{stix_id}/correlations", response_model=list[CorrelationRead])
def correlations(
    session: DbSession,
    actor: CurrentActor,
    stix_id: Annotated[str, Path(max_length=300, description="A STIX object's id.")],
) -> list[CorrelationRead]:
    """Reports from other states that carry a value this object carries (an address, network,
    domain, URL, e-mail address or file hash), among the objects you may see."""
    return [CorrelationRead(**asdict(c)) for c in service.correlations(session, actor, stix_id)]


@router.get("/objects", response_model=ObjectPage)
def search_objects(
    session: DbSession,
    actor: CurrentActor,
    q: Annotated[str | None, Query(max_length=200, description="Text in the object.")] = None,
    type: Annotated[list[str] | None, Query(max_length=20)] = None,
    tlp: Annotated[list[Tlp] | None, Query(max_length=5)] = None,
    submitter: Annotated[StateCode | None, Query()] = None,
    collection: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ObjectPage:
    """Search the objects you may see: the newest visible version of each, newest first, and
    the number that match (counted under the same release rule)."""
    filters = repository.SearchFilters(
        text=q or None,
        types=tuple(type or ()),
        tlp=tuple(t.value for t in tlp or ()),
        submitter=submitter,
        collection=collection,
    )
    total, rows = service.search_objects(session, actor, filters, limit=limit, offset=offset)
    return ObjectPage(total=total, objects=[service.version_read(session, r) for r in rows])


@router.get("/signature-extension")
def signature_extension(actor: CurrentActor) -> dict[str, Any]:
    """The STIX extension-definition of the state signature objects may carry."""
    return signatures.definition()


@router.get("/objects/{stix_id}", response_model=ObjectRead)
def get_object(
    session: DbSession,
    actor: CurrentActor,
    stix_id: Annotated[str, Path(max_length=300, description="A STIX object's id.")],
) -> ObjectRead:
    """The newest version you may see, its release, and every version you may see."""
    return service.object_view(session, actor, stix_id)


@router.post("/objects", response_model=SubmitResult)
def submit_objects(
    data: ObjectSubmit, session: DbSession, actor: CurrentActor, proof: PushProof
) -> SubmitResult:
    """Submit objects, or import a STIX bundle, into a collection you may write to, with the
    collection's release or one of your own. Each invalid object is refused with the OASIS
    validator's message; the others are stored (retries are "already stored")."""
    objects: list[object] = list(data.objects)
    if data.bundle is not None:
        objects.extend(transfer.bundle_objects(data.bundle))
    access = service.access_for_submission(session, actor, data.collection)
    return service.submit(session, actor, access, objects, data.release, proof)


@router.get("/groups", response_model=list[GroupRead])
def list_groups(session: DbSession, actor: CurrentActor) -> list[GroupRead]:
    """Sharing groups and their members."""
    return [service.group_read(session, g) for g in service.list_groups(session)]


@router.post("/groups", status_code=201, response_model=GroupRead)
def create_group(data: GroupCreate, session: DbSession, actor: CurrentActor) -> GroupRead:
    """Create a sharing group (secretariat)."""
    return service.group_read(session, service.create_group(session, actor, data))


@router.post("/groups/{group_id}/members", response_model=GroupRead)
def add_member(
    group_id: RowId, data: MemberCreate, session: DbSession, actor: CurrentActor
) -> GroupRead:
    """Add a state or an organisation to a group (secretariat)."""
    service.add_member(session, actor, group_id, data)
    return service.group_read(session, service.get_group(session, group_id))


@router.delete("/groups/{group_id}/members/{member}", response_model=GroupRead)
def remove_member(
    group_id: RowId,
    member: Annotated[str, Path(max_length=40, description="A state or organisation code.")],
    session: DbSession,
    actor: CurrentActor,
) -> GroupRead:
    """Remove a state or an organisation from a group (secretariat)."""
    service.remove_member(session, actor, group_id, member)
    return service.group_read(session, service.get_group(session, group_id))


@router.delete("/groups/{group_id}", status_code=204)
def delete_group(group_id: RowId, session: DbSession, actor: CurrentActor) -> Response:
    """Delete a group nothing is released to (secretariat)."""
    service.delete_group(session, actor, group_id)
    return Response(status_code=204)
