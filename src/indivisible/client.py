"""A Python client for a node's API that signs what binds a state on the caller's machine.

    from indivisible.client import Client
    node = Client("https://node.example", token, state="KAZ", key="kaz.pem")
    filed = node.file_notification({"kind": "exercise", ...})
    node.verify(node.notification(filed["id"]))   # (True, "ok"), checked here, offline

The private key is read here and used here; only signatures go over the wire. Errors come back
as ``ClientError`` with the node's problem document (its ``code`` and ``errors``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, cast

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from indivisible.auth import signing, submissions
from indivisible.sharing import signatures


class _Response(Protocol):
    status_code: int
    text: str

    def json(self) -> Any: ...


class Transport(Protocol):
    """What sends the requests: a ``requests.Session`` by default; anything with the same
    ``request`` method will do (a test client, a session with client certificates)."""

    def request(self, method: str, url: str, **kwargs: Any) -> _Response: ...


class ClientError(Exception):
    """The node refused a request: ``status`` and its problem document (``code``, ``errors``
    naming each field and rule)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.code = str(problem.get("code", ""))
        super().__init__(f"{status} {self.code}: {problem.get('detail') or problem}")


class Client:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        state: str | None = None,
        key: Ed25519PrivateKey | Path | str | None = None,
        transport: Transport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.state = state
        self.key = (
            signing.load_private(Path(key).read_bytes()) if isinstance(key, Path | str) else key
        )
        self.transport = transport if transport is not None else cast(Transport, requests.Session())
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        # A given transport keeps its own timeouts (a test client refuses one per request).
        self.options: dict[str, Any] = {"timeout": timeout} if transport is None else {}

    def request(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        answer = self.transport.request(
            method,
            f"{self.base_url}{path}",
            json=body,
            params=params or None,
            headers=self.headers,
            **self.options,
        )
        try:
            data = answer.json()
        except ValueError:
            data = {"detail": answer.text}
        if answer.status_code >= 400:
            raise ClientError(answer.status_code, data if isinstance(data, dict) else {})
        return data

    def _signed(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """The body signed for this client's state, or as it is where no key was given (the
        node then accepts it only if it allows unsigned submissions)."""
        if self.key is None:
            return body
        if self.state is None:
            raise ValueError("signing needs the state the key belongs to (state=...)")
        return submissions.sign_body(self.key, kind, self.state, body)

    # What binds a state, signed here.
    def file_notification(self, body: dict[str, Any]) -> Any:
        return self.request(
            "POST", "/api/v1/cbm/notifications", self._signed("cbm.notification", body)
        )

    def submit_annual_data(self, body: dict[str, Any]) -> Any:
        return self.request(
            "POST", "/api/v1/cbm/annual-data", self._signed("cbm.annual_data", body)
        )

    def request_assistance(self, body: dict[str, Any]) -> Any:
        return self.request("POST", "/api/v1/crisis/requests", self._signed("crisis.request", body))

    def state_position(self, decision_id: int, body: dict[str, Any]) -> Any:
        return self.request(
            "POST",
            f"/api/v1/crisis/decisions/{decision_id}/positions",
            self._signed("crisis.position", body),
        )

    def submit_objects(
        self, collection: str, objects: list[dict[str, Any]], release: dict[str, Any] | None = None
    ) -> Any:
        """Share STIX objects, each signed here by this client's state (unsigned where no key
        was given): the signature travels inside the object, to every node it reaches."""
        if self.key is not None and self.state is None:
            raise ValueError("signing needs the state the key belongs to (state=...)")
        signed = [
            signatures.sign(self.key, self.state, obj)
            if self.key is not None and self.state is not None
            else obj
            for obj in objects
        ]
        body: dict[str, Any] = {"collection": collection, "objects": signed}
        if release is not None:
            body["release"] = release
        return self.request("POST", "/api/v1/sharing/objects", body)

    # Reads.
    def stix_object(self, stix_id: str) -> Any:
        return self.request("GET", f"/api/v1/sharing/objects/{stix_id}")

    def notification(self, notification_id: int) -> Any:
        return self.request("GET", f"/api/v1/cbm/notifications/{notification_id}")

    def crisis(self, crisis_id: int) -> Any:
        return self.request("GET", f"/api/v1/crisis/crises/{crisis_id}")

    def keys(self) -> Any:
        return self.request("GET", "/api/v1/auth/keys")

    @staticmethod
    def verify(item: dict[str, Any], public_key: str | None = None) -> tuple[bool, str]:
        """Whether an item's signature verifies, checked here with no node: the same check as
        ``indivisible keys verify-item``."""
        return submissions.check_offline(item, public_key)
