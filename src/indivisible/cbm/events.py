"""Telling states at once: an outbox of CBM events, read by server-sent event streams and
delivered to each state's webhooks, signed with HMAC-SHA256 and retried with back-off.

Events are written by the service functions in the transaction of the change they announce,
so a rolled-back change announces nothing and a committed one is never lost: a stream picks up
after the last id it saw (``Last-Event-ID``) and a delivery stays due until a 2xx answer.

Webhook requests carry ``X-Indivisible-Timestamp`` (Unix seconds) and
``X-Indivisible-Signature: sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>." + body`` under
the webhook's secret; a receiver recomputes it (``signature()``), compares in constant time and
refuses old timestamps, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from indivisible.audit.service import record_change
from indivisible.auth.principal import Actor, Role
from indivisible.cbm import repository
from indivisible.cbm.models import CbmEvent, Webhook, WebhookDelivery
from indivisible.cbm.schemas import WebhookCreate, WebhookRead
from indivisible.db import as_utc
from indivisible.errors import InvalidInput, NotFound, PermissionDenied
from indivisible.i18n import _

logger = logging.getLogger(__name__)

KINDS = (
    "notification",
    "clarification",
    "answer",
    "calendar",
    "verification",
    "decision",
    "report",
    # Crisis response: a request, a session (consultation or decision opened), a decision
    # taken, a step of the operation; the subject is the crisis.
    "crisis-request",
    "crisis-session",
    "crisis-decision",
    "crisis-deployment",
    # Early warning: an alert rule fired; the subject is the firing.
    "warning-alert",
)
# After this many failed attempts a delivery is given up (about two days of back-off).
MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=6)
TIMEOUT_SECONDS = 5.0

# Sends one webhook request; answers the HTTP status, or raises on a network failure.
Sender = Callable[[str, bytes, dict[str, str]], int]


def emit(
    session: Session,
    states: Iterable[str],
    kind: str,
    subject_id: int,
    from_state: str | None,
) -> None:
    """Record that these states are to be told of something, and queue their webhooks."""
    now = datetime.now(UTC)
    told = sorted(set(states))
    if not told:
        return
    events = [
        CbmEvent(
            state_code=state,
            kind=kind,
            subject_id=subject_id,
            from_state=from_state,
            created_at=now,
        )
        for state in told
    ]
    session.add_all(events)
    session.flush()
    hooks = session.scalars(
        select(Webhook).where(Webhook.state_code.in_(told), Webhook.active.is_(True))
    ).all()
    by_state: dict[str, list[Webhook]] = {}
    for hook in hooks:
        by_state.setdefault(hook.state_code, []).append(hook)
    session.add_all(
        WebhookDelivery(webhook_id=hook.id, event_id=event.id, next_attempt_at=now)
        for event in events
        for hook in by_state.get(event.state_code, [])
    )
    session.flush()


def _subject_url(event: CbmEvent) -> str:
    if event.kind.startswith("crisis-"):
        return f"/api/v1/crisis/crises/{event.subject_id}"
    if event.kind == "warning-alert":
        return f"/api/v1/warning/alerts/firings/{event.subject_id}"
    if event.kind in ("notification", "clarification", "answer"):
        return f"/api/v1/cbm/notifications/{event.subject_id}"
    if event.kind == "calendar":
        return "/api/v1/cbm/calendars"
    return "/api/v1/cbm/verifications"


def payload(event: CbmEvent) -> dict[str, Any]:
    created = as_utc(event.created_at) or event.created_at
    return {
        "id": event.id,
        "kind": event.kind,
        "state": event.state_code,
        "from_state": event.from_state,
        "subject_id": event.subject_id,
        "url": _subject_url(event),
        "created_at": created.isoformat(),
    }


def ensure_may_listen(actor: Actor) -> None:
    """Events go to a state's liaison officers and analysts, as its inbox does."""
    if actor.role not in repository.READERS or actor.state_code is None:
        raise PermissionDenied(
            _("Only liaison officers and analysts of a state receive events."),
            code="role_required",
        )


def latest_id(session: Session, actor: Actor) -> int:
    """The newest event id for the actor's state (0 if none): a new stream starts after it."""
    stmt = repository.events_visible(actor).order_by(CbmEvent.id.desc()).limit(1)
    newest = session.scalars(stmt).first()
    return newest.id if newest is not None else 0


def events_after(
    session: Session, actor: Actor, after: int, limit: int = 100
) -> list[dict[str, Any]]:
    stmt = (
        repository.events_visible(actor)
        .where(CbmEvent.id > after)
        .order_by(CbmEvent.id)
        .limit(limit)
    )
    return [payload(e) for e in session.scalars(stmt)]


# --- webhooks ----------------------------------------------------------------------------


def _own_state(actor: Actor) -> str:
    if actor.role is not Role.liaison or actor.state_code is None:
        raise PermissionDenied(
            _("Only a state's liaison officers manage its webhooks."), code="role_required"
        )
    return actor.state_code


def register_webhook(session: Session, actor: Actor, data: WebhookCreate) -> tuple[Webhook, str]:
    """A state's liaison officer registers a URL; the secret is returned this once."""
    state = _own_state(actor)
    parts = urlsplit(data.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            _("A webhook URL is an http or https address."), code="bad_url", field="url"
        )
    secret = secrets.token_urlsafe(32)
    hook = Webhook(
        state_code=state,
        url=data.url,
        secret=secret,
        active=True,
        created_at=datetime.now(UTC),
        created_by=actor.principal_id,
    )
    session.add(hook)
    session.flush()
    record_change(
        session,
        actor,
        action="create",
        subject_type="cbm_webhook",
        subject_key=str(hook.id),
        before=None,
        after={"state": state, "url": data.url},
    )
    return hook, secret


def webhooks(session: Session, actor: Actor) -> list[Webhook]:
    state = _own_state(actor)
    return list(
        session.scalars(select(Webhook).where(Webhook.state_code == state).order_by(Webhook.id))
    )


def delete_webhook(session: Session, actor: Actor, webhook_id: int) -> None:
    state = _own_state(actor)
    hook = session.get(Webhook, webhook_id)
    if hook is None or hook.state_code != state:
        raise NotFound(_("No webhook {id}."), code="unknown_webhook", params={"id": webhook_id})
    record_change(
        session,
        actor,
        action="delete",
        subject_type="cbm_webhook",
        subject_key=str(hook.id),
        before={"state": state, "url": hook.url},
        after=None,
    )
    session.delete(hook)
    session.flush()


def webhook_read(session: Session, hook: Webhook) -> WebhookRead:
    def deliveries(*conditions: ColumnElement[bool]) -> int:
        return int(
            session.scalar(
                select(func.count()).where(WebhookDelivery.webhook_id == hook.id, *conditions)
            )
            or 0
        )

    return WebhookRead(
        id=hook.id,
        state=hook.state_code,
        url=hook.url,
        active=hook.active,
        created_at=as_utc(hook.created_at) or hook.created_at,
        pending=deliveries(
            WebhookDelivery.delivered_at.is_(None), WebhookDelivery.failed.is_(False)
        ),
        failed=deliveries(WebhookDelivery.failed.is_(True)),
    )


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """What ``X-Indivisible-Signature`` carries for this body at this time."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt after ``attempts`` failures: 30 s, doubling, at most 6 h."""
    # The exponent is bounded first: 2**20 waits are far past the cap, and larger ones
    # would overflow timedelta.
    wait: timedelta = FIRST_RETRY * (2 ** min(max(attempts - 1, 0), 20))
    return wait if wait < LONGEST_WAIT else LONGEST_WAIT


def send_with_requests(url: str, body: bytes, headers: dict[str, str]) -> int:
    answer = requests.post(
        url, data=body, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False
    )
    return answer.status_code


def deliver_due(
    session: Session,
    *,
    now: datetime | None = None,
    send: Sender = send_with_requests,
    limit: int = 100,
) -> tuple[int, int]:
    """Attempt the deliveries that are due; answers (delivered, failed attempts).

    On PostgreSQL the due rows are locked with SKIP LOCKED, so several workers deliver
    side by side without sending one event twice.
    """
    moment = now or datetime.now(UTC)
    due = session.execute(
        select(WebhookDelivery, Webhook, CbmEvent)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .join(CbmEvent, CbmEvent.id == WebhookDelivery.event_id)
        .where(
            WebhookDelivery.delivered_at.is_(None),
            WebhookDelivery.failed.is_(False),
            WebhookDelivery.next_attempt_at <= moment,
            Webhook.active.is_(True),
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    ).all()
    delivered = failures = 0
    for delivery, hook, event in due:
        body = json.dumps(payload(event), separators=(",", ":"), sort_keys=True).encode()
        stamp = int(moment.timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Indivisible-Webhook/1",
            "X-Indivisible-Event": event.kind,
            "X-Indivisible-Delivery": str(delivery.id),
            "X-Indivisible-Timestamp": str(stamp),
            "X-Indivisible-Signature": signature(hook.secret, stamp, body),
        }
        try:
            status: int | None = send(hook.url, body, headers)
            error = None if status is not None and 200 <= status < 300 else f"HTTP {status}"
        except requests.RequestException as exc:
            status, error = None, type(exc).__name__
        delivery.attempts += 1
        delivery.last_status = status
        if error is None:
            delivery.delivered_at = moment
            delivery.last_error = None
            delivered += 1
            continue
        failures += 1
        delivery.last_error = error[:500]
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.failed = True
            delivery.next_attempt_at = None
            logger.warning("webhook %s: gave up delivery %s (%s)", hook.id, delivery.id, error)
        else:
            delivery.next_attempt_at = moment + backoff(delivery.attempts)
    session.flush()
    return delivered, failures
