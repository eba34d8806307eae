"""The Python client against the app, on both databases: it signs on the caller's side, the node
checks and keeps the signature, and the client re-checks what it reads, offline."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from indivisible.auth import signing
from indivisible.auth.principal import Role
from indivisible.client import Client, ClientError, Transport
from tests.auth.test_submissions import notification
from tests.conftest import bearer_tokens


def node_transport(client: TestClient) -> Transport:
    # The test client takes the same request() arguments as requests.Session, less the timeout.
    return cast(Transport, client)


@pytest.fixture
def signed_only(app: FastAPI) -> Iterator[None]:
    original = app.state.settings
    app.state.settings = original.model_copy(update={"allow_unsigned_submissions": False})
    yield
    app.state.settings = original


def test_the_client_signs_here_and_verifies_what_it_reads(
    client: TestClient, db: Session, signed_only: None
) -> None:
    token = bearer_tokens(db, "cl", {"kaz": (Role.liaison, "KAZ", None)})["kaz"]
    bearer = token["Authorization"].removeprefix("Bearer ")
    pem, public = signing.generate()
    unsigned = Client("", bearer, transport=node_transport(client))
    unsigned.request("POST", "/api/v1/auth/keys", {"public_key": base64.b64encode(public).decode()})

    # No key: the node requires signatures, and the client reports its problem by name.
    with pytest.raises(ClientError) as refused:
        unsigned.file_notification(notification())
    assert refused.value.status == 422
    assert refused.value.problem["errors"][0]["field"] == "signature"

    node = Client(
        "", bearer, state="KAZ", key=signing.load_private(pem), transport=node_transport(client)
    )
    filed = node.file_notification(notification())
    assert filed["signature"]["signed"] and filed["signature"]["state"] == "KAZ"
    read = node.notification(filed["id"])
    assert Client.verify(read) == (True, "ok")
    assert Client.verify(read, base64.b64encode(public).decode()) == (True, "ok")
    read["signature"]["document"]["content"]["forces"]["personnel"] = 1
    assert Client.verify(read) == (False, "bad_signature")

    # A key signing for another state is refused by the node, not silently kept.
    posing = Client(
        "", bearer, state="RUS", key=signing.load_private(pem), transport=node_transport(client)
    )
    with pytest.raises(ClientError) as other:
        posing.file_notification(notification(days=45))
    assert other.value.status in (403, 422)
