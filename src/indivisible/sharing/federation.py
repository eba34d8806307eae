"""Federation: exchanging objects with other nodes' TAXII collections.

A link (``indivisible link add``) names a remote collection and a local one. ``indivisible
sync`` pulls what the remote lets this node read, page by page with ``added_after`` from a
checkpoint, and pushes the local collection's objects whose release lets linked nodes receive
them. What may leave the node is one SQL predicate, ``repository.federable``: the same one that
limits what a linked node's account reads here, so pulling and pushing agree. What arrives is
stored as received from the link (``origin_node``) with the local collection's release and is
never forwarded again; re-running a sync stores nothing twice.

Each page is a step: the caller commits after it, so the objects and the checkpoint that
covers them land together and an interrupted sync resumes where the last commit ended.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor, Role
from indivisible.auth.service import ensure_role
from indivisible.errors import Conflict, InvalidInput, NotFound
from indivisible.i18n import _
from indivisible.sharing import pushes, repository, service
from indivisible.sharing.models import FederationLink, StixObject, TaxiiCollection
from indivisible.sharing.schemas import LinkCreate, Outcome

TAXII = "application/taxii+json;version=2.1"
# Objects asked for per pull request; servers may send fewer (ours allows up to 1,000).
PULL_PAGE = 500
# Objects and bytes per pushed envelope: below our own 10,000-object and 5 MiB limits, and
# small enough that one refused envelope costs little to retry.
PUSH_OBJECTS = 500
PUSH_BYTES = 4 * 1024 * 1024
TIMEOUT = 60.0


class RemoteError(Exception):
    """The remote answered something a sync cannot go on from; nothing of that step is kept."""


class Remote(Protocol):
    def get_objects(self, params: dict[str, str]) -> tuple[dict[str, Any], str | None]: ...

    def post_objects(
        self, objects: list[dict[str, Any]], signature: str | None = None
    ) -> dict[str, Any]: ...


class TaxiiRemote:
    """The remote collection over HTTP: GET objects (with the Date-Added-Last header the
    checkpoint needs, which the OASIS client does not expose) and POST envelopes."""

    def __init__(self, link: FederationLink, timeout: float = TIMEOUT) -> None:
        self.url = link.url if link.url.endswith("/") else link.url + "/"
        self.http = requests.Session()
        self.http.headers["Accept"] = TAXII
        if link.username:
            self.http.auth = (link.username, link.secret)
        else:
            self.http.headers["Authorization"] = f"Bearer {link.secret}"
        self.timeout = timeout

    def _check(self, response: requests.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            try:
                detail = response.json()
                message = detail.get("title", "") + (
                    f": {detail['description']}" if detail.get("description") else ""
                )
            except ValueError:
                message = response.text[:200]
            raise RemoteError(
                f"{response.request.method} {response.url}: HTTP {response.status_code} {message}"
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise RemoteError(f"{response.url}: the answer is not JSON") from exc
        if not isinstance(data, dict):
            raise RemoteError(f"{response.url}: the answer is not a TAXII resource")
        return data

    def get_objects(self, params: dict[str, str]) -> tuple[dict[str, Any], str | None]:
        try:
            response = self.http.get(self.url + "objects/", params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise RemoteError(f"{self.url}: {exc}") from exc
        return self._check(response), response.headers.get("X-TAXII-Date-Added-Last")

    def post_objects(
        self, objects: list[dict[str, Any]], signature: str | None = None
    ) -> dict[str, Any]:
        body = json.dumps({"objects": objects}, ensure_ascii=False, separators=(",", ":"))
        headers = {"Content-Type": TAXII}
        if signature is not None:
            headers[pushes.HEADER] = signature
        try:
            response = self.http.post(
                self.url + "objects/", data=body.encode(), headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise RemoteError(f"{self.url}: {exc}") from exc
        return self._check(response)


# --- Links -----------------------------------------------------------------------------------


def add_link(session: Session, actor: Actor, data: LinkCreate) -> FederationLink:
    """Register a remote collection; only the node's operator (an admin) links nodes."""
    ensure_role(actor, Role.admin)
    if session.get(TaxiiCollection, data.collection) is None:
        raise InvalidInput(
            _("Unknown collection {id}."),
            code="unknown_collection",
            field="collection",
            params={"id": data.collection},
        )
    if session.scalar(select(FederationLink.id).where(FederationLink.name == data.name)):
        raise Conflict(
            _("A link named {name} exists already."),
            code="duplicate_link",
            field="name",
            params={"name": data.name},
        )
    link = FederationLink(
        name=data.name,
        url=data.url if data.url.endswith("/") else data.url + "/",
        collection_id=data.collection,
        username=data.username,
        secret=data.secret,
        pull=data.pull,
        push=data.push,
        created_at=datetime.now(UTC),
    )
    session.add(link)
    session.flush()
    return link


def links(session: Session, actor: Actor, name: str | None = None) -> list[FederationLink]:
    ensure_role(actor, Role.admin)
    stmt = select(FederationLink).order_by(FederationLink.name)
    if name is not None:
        stmt = stmt.where(FederationLink.name == name)
    found = list(session.scalars(stmt))
    if name is not None and not found:
        raise NotFound(_("No link named {name}."), code="unknown_link", params={"name": name})
    return found


def remove_link(session: Session, actor: Actor, name: str) -> None:
    """Forget a link; what was received through it stays, with its origin."""
    for link in links(session, actor, name):
        session.delete(link)
    session.flush()


def rewind(session: Session, actor: Actor, name: str, since: datetime | None) -> FederationLink:
    """Move a link's pull checkpoint back (to ``since``, or to the start), so that the next sync
    fetches again what the remote added after it: after adopting a state's keys, say, objects
    refused for want of them come in. What was stored already is answered "already stored"."""
    [link] = links(session, actor, name)
    if since is not None and since.tzinfo is None:
        raise InvalidInput(
            _("The time needs its offset from UTC, e.g. 2026-12-01T00:00:00Z."),
            code="naive_time",
            field="since",
        )
    if (
        since is not None
        and link.pulled_until is not None
        and since > service.as_utc(link.pulled_until)
    ):
        raise InvalidInput(
            _("A checkpoint only moves back: this link has pulled up to {until}."),
            code="rewind_forward",
            field="since",
            params={"until": service.as_utc(link.pulled_until).isoformat()},
        )
    link.pulled_until = since
    session.flush()
    return link


# --- Sync ------------------------------------------------------------------------------------


@dataclass
class Step:
    """One page exchanged with a remote, committed by the caller with its checkpoint."""

    direction: str  # pull | push
    stored: int = 0
    already: int = 0
    failures: list[Outcome] = field(default_factory=list)


@dataclass
class SyncReport:
    link: str
    pulled: int = 0
    pushed: int = 0
    already: int = 0
    failures: list[Outcome] = field(default_factory=list)
    error: str | None = None

    def add(self, step: Step) -> None:
        if step.direction == "pull":
            self.pulled += step.stored
        else:
            self.pushed += step.stored
        self.already += step.already
        self.failures.extend(step.failures)


def _timestamp(moment: datetime) -> str:
    return service.as_utc(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        raise RemoteError(f"X-TAXII-Date-Added-Last is not a timestamp: {value[:60]!r}") from exc


def pull(
    session: Session, link: FederationLink, remote: Remote, signed_objects_required: bool = False
) -> Iterator[Step]:
    """Store what the remote has added since the checkpoint; one step per page. A state
    signature an object carries is checked here as on any submission."""
    collection = session.get(TaxiiCollection, link.collection_id)
    assert collection is not None  # the foreign key cascades
    params = {"limit": str(PULL_PAGE)}
    if link.pulled_until is not None:
        params["added_after"] = _timestamp(link.pulled_until)
    while True:
        envelope, last = remote.get_objects(params)
        objects = envelope.get("objects") or []
        if not isinstance(objects, list):
            raise RemoteError("the remote sent an envelope whose objects are not a list")
        if not objects:
            return
        if last is None:
            # Without it there is no checkpoint, and the next sync would fetch all again.
            raise RemoteError("the remote sent objects without X-TAXII-Date-Added-Last")
        result = service.receive(
            session,
            collection,
            objects,
            origin=link.name,
            signed_objects_required=signed_objects_required,
        )
        link.pulled_until = _parse(last)
        session.flush()
        yield Step(
            "pull",
            stored=sum(1 for s in result.successes if s.message is None),
            already=sum(1 for s in result.successes if s.message is not None),
            failures=result.failures,
        )
        if not envelope.get("more"):
            return
        params.pop("next", None)
        token = envelope.get("next")
        if isinstance(token, str) and token:
            params["next"] = token
        else:
            params["added_after"] = last


def _pending(session: Session, link: FederationLink) -> list[tuple[int, datetime, str]]:
    stmt = select(StixObject.id, StixObject.date_added, StixObject.body).where(
        StixObject.collection_id == link.collection_id, repository.federable()
    )
    if link.pushed_until is not None:
        stmt = stmt.where(StixObject.date_added > link.pushed_until)
    stmt = stmt.order_by(StixObject.date_added, StixObject.id).limit(PUSH_OBJECTS)
    return list(session.execute(stmt).tuples())


def remote_collection(link: FederationLink) -> str:
    """The remote collection's id, the last segment of the link's URL."""
    return link.url.rstrip("/").rsplit("/", 1)[-1]


def push(
    session: Session,
    link: FederationLink,
    remote: Remote,
    node_key: Ed25519PrivateKey | None = None,
) -> Iterator[Step]:
    """Send the local collection's objects that may leave the node, oldest first, each
    envelope signed with the node's key (sharing/pushes.py) when one is given."""
    while True:
        rows = _pending(session, link)
        if not rows:
            return
        batch: list[dict[str, Any]] = []
        size = 0
        last = rows[0][1]
        for _row_id, date_added, body in rows:
            if batch and size + len(body) > PUSH_BYTES:
                break
            batch.append(json.loads(body))
            size += len(body) + 1
            last = date_added
        try:
            signature = (
                pushes.sign(node_key, remote_collection(link), batch)
                if node_key is not None
                else None
            )
        except ValueError as exc:
            # An integer beyond what RFC 8785 represents exactly (2**53): say which link stops.
            raise RemoteError(f"{link.name}: the envelope cannot be signed: {exc}") from exc
        status = remote.post_objects(batch, signature)
        failures = [
            Outcome(id=f.get("id"), version=f.get("version"), message=f.get("message"))
            for f in status.get("failures") or []
            if isinstance(f, dict)
        ]
        # Per-object failures are final (the remote refused those objects); the checkpoint
        # moves past them so one bad object does not block the link for ever.
        link.pushed_until = service.as_utc(last)
        session.flush()
        accepted = int(status.get("success_count") or 0) + int(status.get("pending_count") or 0)
        yield Step("push", stored=accepted, failures=failures)


def sync(
    session: Session,
    actor: Actor,
    link: FederationLink,
    remote: Remote | None = None,
    node_key: Ed25519PrivateKey | None = None,
    signed_objects_required: bool = False,
) -> Iterator[Step]:
    """Pull, then push, as the link says; the caller commits after each step. ``node_key``
    signs the pushes; without it they go unsigned, which a receiving node refuses unless its
    operator allows unsigned submissions. ``signed_objects_required``: this node's rule on
    objects their state did not sign."""
    ensure_role(actor, Role.admin)
    remote = remote or TaxiiRemote(link)
    if link.pull:
        yield from pull(session, link, remote, signed_objects_required)
    if link.push:
        yield from push(session, link, remote, node_key)
    link.last_sync_at = datetime.now(UTC)
    link.last_error = None
    session.flush()
