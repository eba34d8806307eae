"""TAXII 2.1 over the STIX store: thin routes under ``/taxii2/``.

The protocol's own rules live here (media types, the shape of each resource, the date-added
headers, its error resource); what may be read or written, and every query, is in
``sharing.service``. Clients authenticate with an API token (Bearer) or HTTP Basic; the
browser session cookie is not accepted, so no TAXII request can be forged cross-site.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from indivisible import __version__, jsonio
from indivisible.auth import service as auth_service
from indivisible.auth.principal import Actor
from indivisible.auth.throttle import Throttle, client_address, retry_after
from indivisible.deps import DbSession, PushProof
from indivisible.errors import (
    BadRequest,
    IndivisibleError,
    NotAcceptable,
    NotAuthenticated,
    TooManyRequests,
    UnsupportedMediaType,
)
from indivisible.i18n import _
from indivisible.sharing import service
from indivisible.sharing.models import TaxiiStatus
from indivisible.sharing.repository import StoredVersion
from indivisible.sharing.service import Access, Page

TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"
PREFIX = "/taxii2"


def is_taxii(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def error_body(error: IndivisibleError, gettext: Callable[[str], str]) -> dict[str, Any]:
    """The TAXII error message resource (TAXII 2.1 §3.6.1) for one of our errors."""
    body: dict[str, Any] = {
        "title": gettext(error.title),
        "description": error.text(gettext),
        "error_code": error.code,
        "http_status": str(error.status),
    }
    if error.field:
        body["details"] = {"field": error.field}
    return body


def _media(value: str) -> tuple[str, dict[str, str]]:
    kind, *params = (part.strip() for part in value.split(";"))
    parsed = {}
    for param in params:
        name, _sep, text = param.partition("=")
        parsed[name.strip().lower()] = text.strip().strip('"')
    return kind.lower(), parsed


def _is_taxii_media(value: str) -> bool:
    kind, params = _media(value)
    return kind == "application/taxii+json" and params.get("version", "2.1") == "2.1"


def negotiate(request: Request) -> None:
    """TAXII 2.1 §1.6.8: answer 406 unless the client accepts TAXII 2.1 (or anything)."""
    accept = request.headers.get("accept")
    if not accept:
        return
    for item in accept.split(","):
        kind, params = _media(item)
        if params.get("q") in ("0", "0.0", "0.00", "0.000"):
            continue
        if kind in ("*/*", "application/*") or _is_taxii_media(item):
            return
    raise NotAcceptable(
        _("This endpoint answers only in {media}."), code="not_acceptable", params={"media": TAXII}
    )


def taxii_actor(request: Request, session: DbSession) -> Actor:
    """An API token as Bearer (or as "Token", the scheme taxii2-client's TokenAuth sends), or
    HTTP Basic with a password or an API token."""
    header = request.headers.get("authorization", "")
    scheme, _sep, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() in ("bearer", "token") and credentials:
        return auth_service.resolve_token(session, credentials)
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        username, sep, password = decoded.partition(":")
        if not sep or not username:
            raise NotAuthenticated(_("Malformed HTTP Basic credentials."), code="bad_credentials")
        throttle: Throttle = request.app.state.throttle
        address = client_address(request.scope)
        wait = throttle.login_wait(username, address)
        if wait > 0:
            raise TooManyRequests(
                _("Too many failed logins; try again in {minutes} minutes."),
                code="login_throttled",
                params={"minutes": max(1, math.ceil(wait / 60))},
                retry_after=int(retry_after(wait)),
            )
        try:
            actor = auth_service.resolve_basic(session, username, password)
        except NotAuthenticated:
            throttle.login_failed(username, address)
            raise
        throttle.login_succeeded(username, address)
        return actor
    raise NotAuthenticated(
        _("Authentication required: a bearer token or HTTP Basic."), code="no_credentials"
    )


TaxiiActor = Annotated[Actor, Depends(taxii_actor)]
Root = Annotated[str, Path(max_length=41, description="An API root: node, or an organisation.")]
CollectionId = Annotated[str, Path(max_length=36, description="A collection's id.")]
ObjectId = Annotated[str, Path(max_length=300, description="A STIX object's id.")]


class TaxiiResponse(JSONResponse):
    """An answer in TAXII's media type. A JSONResponse so that the OpenAPI description gives
    each route its resource's schema; the body comes already serialised (an envelope is
    assembled from the stored JSON text) and is sent as it is."""

    media_type = TAXII

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        return content if isinstance(content, bytes) else str(content).encode(self.charset)


class Discovery(BaseModel):
    """TAXII 2.1 §4.1.1."""

    title: str
    description: str | None = None
    default: str | None = None
    api_roots: list[str] = []


class ApiRoot(BaseModel):
    """TAXII 2.1 §4.2.1."""

    title: str
    description: str | None = None
    versions: list[str]
    max_content_length: int


class StatusResource(BaseModel):
    """TAXII 2.1 §4.3.1."""

    id: str
    status: Literal["complete", "pending"]
    request_timestamp: str | None = None
    total_count: int
    success_count: int
    successes: list[dict[str, Any]] = []
    failure_count: int
    failures: list[dict[str, Any]] = []
    pending_count: int
    pendings: list[dict[str, Any]] = []


class CollectionResource(BaseModel):
    """TAXII 2.1 §5.2.1."""

    id: str
    title: str
    description: str | None = None
    alias: str | None = None
    can_read: bool
    can_write: bool
    media_types: list[str] = []


class Collections(BaseModel):
    """TAXII 2.1 §5.1.1: the list is left out when there is none."""

    collections: list[CollectionResource] = []


class ManifestRecord(BaseModel):
    id: str
    date_added: str
    version: str
    media_type: str | None = None


class Manifest(BaseModel):
    """TAXII 2.1 §5.3.1."""

    more: bool = False
    next: str | None = None
    objects: list[ManifestRecord] = []


class Envelope(BaseModel):
    """TAXII 2.1 §3.7: STIX objects as stored, checked when they were added."""

    more: bool = False
    next: str | None = None
    objects: list[dict[str, Any]] = []


class Versions(BaseModel):
    """TAXII 2.1 §5.7.1."""

    more: bool = False
    next: str | None = None
    versions: list[str] = []


class TaxiiError(BaseModel):
    """The TAXII 2.1 error message resource (§3.6.1), as every TAXII error is answered."""

    title: str
    description: str | None = None
    error_id: str | None = None
    error_code: str | None = None
    http_status: str | None = None
    external_details: str | None = None
    details: dict[str, Any] | None = None


def _error(description: str) -> dict[str, Any]:
    # The schema goes under the routes' own media type (TaxiiResponse's), not application/json.
    return {"model": TaxiiError, "description": description}


# Declared so the OpenAPI description shows the answers TAXII clients really get: its own
# error resource in its own media type, never problem+json.
TAXII_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("A malformed filter, next or added_after, or a body that is not JSON."),
    401: _error("No valid credentials: a bearer token or HTTP Basic."),
    403: _error("The caller may not read or write this collection."),
    404: _error("No such API root, collection, object or status, or not visible to the caller."),
    406: _error("The client does not accept TAXII 2.1."),
    413: _error("The request body is over the node's limit."),
    422: _error("A path or query value breaks a rule; details.errors names each."),
}

router = APIRouter(
    prefix=PREFIX,
    tags=["taxii"],
    dependencies=[Depends(negotiate)],
    responses=TAXII_ERRORS,
    default_response_class=TaxiiResponse,
)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> TaxiiResponse:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return TaxiiResponse(body, status_code=status, headers=headers)


def timestamp(moment: datetime) -> str:
    """TAXII timestamps: UTC with microseconds, so that added_after paging loses nothing."""
    return service.as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _date_headers(rows: Sequence[StoredVersion]) -> dict[str, str]:
    if not rows:
        return {}
    return {
        "X-TAXII-Date-Added-First": timestamp(rows[0].date_added),
        "X-TAXII-Date-Added-Last": timestamp(rows[-1].date_added),
    }


def _query(request: Request) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        query.setdefault(name, []).append(value)
    return query


def _envelope(page: Page) -> TaxiiResponse:
    # The objects are stored as the JSON they arrived in, so the envelope is assembled from
    # that text rather than parsed and serialised again.
    parts = [f'"more":{"true" if page.more else "false"}']
    if page.next:
        parts.append(f'"next":{json.dumps(page.next)}')
    if page.rows:
        parts.append('"objects":[' + ",".join(row.body for row in page.rows) + "]")
    return TaxiiResponse("{" + ",".join(parts) + "}", headers=_date_headers(page.rows))


def _version(row: StoredVersion) -> str:
    return timestamp(row.modified) if row.modified is not None else timestamp(row.date_added)


def _collection(access: Access) -> dict[str, Any]:
    collection = access.collection
    data: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "can_read": access.can_read,
        "can_write": access.can_write,
        "media_types": [STIX],
    }
    if collection.description:
        data["description"] = collection.description
    if collection.alias:
        data["alias"] = collection.alias
    return data


def _status(status: TaxiiStatus) -> dict[str, Any]:
    successes = json.loads(status.successes)
    failures = json.loads(status.failures)
    pendings = json.loads(status.pendings)
    return {
        "id": status.id,
        "status": "pending" if pendings else "complete",
        "request_timestamp": timestamp(status.request_timestamp),
        "total_count": status.total_count,
        "success_count": len(successes),
        "successes": successes,
        "failure_count": len(failures),
        "failures": failures,
        "pending_count": len(pendings),
        "pendings": pendings,
    }


@router.get("/", summary="Discovery", response_model=Discovery)
def discovery(request: Request, session: DbSession, actor: TaxiiActor) -> TaxiiResponse:
    base = str(request.base_url).rstrip("/") + PREFIX
    roots = [f"{base}/{root}/" for root in service.api_roots(session)]
    return _json(
        {
            "title": "Indivisible",
            "description": "TAXII 2.1 server of an Indivisible node",
            "default": roots[0],
            "api_roots": roots,
        }
    )


@router.get("/{root}/", summary="API root", response_model=ApiRoot)
def api_root(request: Request, session: DbSession, actor: TaxiiActor, root: Root) -> TaxiiResponse:
    service.require_root(session, root)
    settings = request.app.state.settings
    title = "Indivisible node" if root == service.NODE_ROOT else f"Indivisible: {root.upper()}"
    return _json(
        {
            "title": title,
            "description": f"Indivisible {__version__}",
            "versions": [TAXII],
            "max_content_length": settings.taxii_max_content_length,
        }
    )


@router.get(
    "/{root}/status/{status_id}/", summary="Status of a POST", response_model=StatusResource
)
def status(
    session: DbSession,
    actor: TaxiiActor,
    root: Root,
    status_id: Annotated[str, Path(max_length=36)],
) -> TaxiiResponse:
    return _json(_status(service.get_status(session, actor, root, status_id)))


@router.get("/{root}/collections/", summary="Collections", response_model=Collections)
def collections(session: DbSession, actor: TaxiiActor, root: Root) -> TaxiiResponse:
    found = service.collections_for(session, actor, root)
    return _json({"collections": [_collection(a) for a in found]} if found else {})


@router.get(
    "/{root}/collections/{collection_id}/",
    summary="Collection",
    response_model=CollectionResource,
)
def collection(
    session: DbSession, actor: TaxiiActor, root: Root, collection_id: CollectionId
) -> TaxiiResponse:
    return _json(_collection(service.access_to(session, actor, root, collection_id, need="any")))


@router.get(
    "/{root}/collections/{collection_id}/manifest/", summary="Manifest", response_model=Manifest
)
def manifest(
    request: Request,
    session: DbSession,
    actor: TaxiiActor,
    root: Root,
    collection_id: CollectionId,
) -> TaxiiResponse:
    wanted = service.parse_page_request(_query(request), service.OBJECT_FILTERS, "last")
    page = service.manifest_page(session, actor, root, collection_id, wanted)
    body: dict[str, Any] = {"more": page.more}
    if page.next:
        body["next"] = page.next
    if page.rows:
        body["objects"] = [
            {
                "id": row.stix_id,
                "date_added": timestamp(row.date_added),
                "version": _version(row),
                "media_type": STIX,
            }
            for row in page.rows
        ]
    return _json(body, headers=_date_headers(page.rows))


@router.get(
    "/{root}/collections/{collection_id}/objects/", summary="Objects", response_model=Envelope
)
def get_objects(
    request: Request,
    session: DbSession,
    actor: TaxiiActor,
    root: Root,
    collection_id: CollectionId,
) -> TaxiiResponse:
    wanted = service.parse_page_request(_query(request), service.OBJECT_FILTERS, "last")
    return _envelope(service.objects_page(session, actor, root, collection_id, wanted))


async def envelope_body(request: Request) -> Any:
    """The POSTed envelope, parsed; the media type and JSON are checked before anything else."""
    if not _is_taxii_media(request.headers.get("content-type", "")):
        raise UnsupportedMediaType(
            _("Send objects as {media}."), code="unsupported_media_type", params={"media": TAXII}
        )
    raw = await request.body()
    try:
        return jsonio.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest(
            _("The body is not valid JSON."), code="invalid_json", field="body"
        ) from None


@router.post(
    "/{root}/collections/{collection_id}/objects/",
    summary="Add objects",
    status_code=202,
    response_model=StatusResource,
    responses={415: _error("The body is not sent as TAXII 2.1.")},
    # The envelope is read by envelope_body, not declared as a parameter: describe it here.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                TAXII: {
                    "schema": {
                        "type": "object",
                        "properties": {"objects": {"type": "array", "items": {"type": "object"}}},
                    }
                }
            },
        }
    },
)
def add_objects(
    session: DbSession,
    actor: TaxiiActor,
    root: Root,
    collection_id: CollectionId,
    envelope: Annotated[Any, Depends(envelope_body)],
    proof: PushProof,
) -> TaxiiResponse:
    status = service.post_envelope(session, actor, root, collection_id, envelope, proof)
    return _json(_status(status), status=202)


@router.get(
    "/{root}/collections/{collection_id}/objects/{object_id}/",
    summary="Object",
    response_model=Envelope,
)
def get_object(
    request: Request,
    session: DbSession,
    actor: TaxiiActor,
    root: Root,
    collection_id: CollectionId,
    object_id: ObjectId,
) -> TaxiiResponse:
    wanted = service.parse_page_request(_query(request), service.ONE_OBJECT_FILTERS, "last")
    return _envelope(service.object_page(session, actor, root, collection_id, object_id, wanted))


@router.delete("/{root}/collections/{collection_id}/objects/{object_id}/", summary="Delete")
def delete_object(
    request: Request,
    session: DbSession,
    actor: TaxiiActor,
    root: Root,
    collection_id: CollectionId,
    object_id: ObjectId,
) -> Response:
    wanted = service.parse_page_request(_query(request), service.ONE_OBJECT_FILTERS, "all")
    service.delete_object(session, actor, root, collection_id, object_id, wanted)
    return TaxiiResponse(None, status_code=200)


@router.get(
    "/{root}/collections/{collection_id}/objects/{object_id}/versions/",
    summary="Versions",
    response_model=Versions,
)
def versions(
    request: Request,
    session: DbSession,
    actor: TaxiiActor,
    root: Root,
    collection_id: CollectionId,
    object_id: ObjectId,
) -> TaxiiResponse:
    wanted = service.parse_page_request(_query(request), service.VERSION_FILTERS, "all")
    page = service.versions_page(session, actor, root, collection_id, object_id, wanted)
    body: dict[str, Any] = {"more": page.more}
    if page.next:
        body["next"] = page.next
    if page.rows:
        # Two submitters' claims to one version are two rows but one version.
        body["versions"] = list(dict.fromkeys(_version(row) for row in page.rows))
    return _json(body, headers=_date_headers(page.rows))
