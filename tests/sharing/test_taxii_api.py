"""TAXII over HTTP on both databases: malformed input gets a 4xx in TAXII's error format,
never a 500, and nothing is written."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor
from indivisible.sharing import service
from indivisible.sharing.models import StixObject, TaxiiCollection, TaxiiStatus
from indivisible.sharing.schemas import CollectionCreate, Distribution, Release
from tests.conftest import Account
from tests.sharing.stixdata import envelope, indicator

TAXII = "application/taxii+json;version=2.1"


@pytest.fixture
def collections(db: Session) -> tuple[TaxiiCollection, TaxiiCollection]:
    console = Actor.console("t")
    node = Release(distribution=Distribution.node)
    first = service.create_collection(db, console, CollectionCreate(title="one", release=node))
    second = service.create_collection(db, console, CollectionCreate(title="two", release=node))
    return first, second


def headers(account: Account, **extra: str) -> dict[str, str]:
    return {**account.headers, "Accept": TAXII, "Content-Type": TAXII, **extra}


def stored(db: Session) -> tuple[int, int]:
    return (
        db.scalar(select(func.count()).select_from(StixObject)) or 0,
        db.scalar(select(func.count()).select_from(TaxiiStatus)) or 0,
    )


def assert_taxii_error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == TAXII
    body: dict[str, Any] = response.json()
    assert body["http_status"] == str(status) and body["title"] and body["description"]
    if field is not None:
        assert body["details"]["field"] == field, body
    return body


def objects_url(collection: TaxiiCollection) -> str:
    return f"/taxii2/node/collections/{collection.id}/objects/"


def test_post_and_read_back(
    client: TestClient,
    accounts: dict[str, Account],
    collections: tuple[TaxiiCollection, TaxiiCollection],
) -> None:
    one, _two = collections
    posted = client.post(
        objects_url(one),
        content=json.dumps(envelope(indicator(1), indicator(2))),
        headers=headers(accounts["liaison"]),
    )
    assert posted.status_code == 202 and posted.json()["success_count"] == 2
    read = client.get(objects_url(one), headers=headers(accounts["analyst"]))
    assert read.status_code == 200 and read.headers["content-type"] == TAXII
    assert [o["id"] for o in read.json()["objects"]] == [indicator(1)["id"], indicator(2)["id"]]
    assert read.headers["X-TAXII-Date-Added-First"] < read.headers["X-TAXII-Date-Added-Last"]


BAD_POSTS: list[tuple[str, bytes, dict[str, str], int, str | None]] = [
    ("broken JSON", b'{"objects": [', {}, 400, "body"),
    ("not an envelope", b"[]", {}, 400, "objects"),
    ("objects not a list", b'{"objects": {}}', {}, 400, "objects"),
    ("deeply nested", b"[" * 100_000 + b"]" * 100_000, {}, 400, "body"),
    ("wrong media type", b'{"objects": []}', {"Content-Type": "application/json"}, 415, None),
    ("STIX media type", b'{"objects": []}', {"Content-Type": "application/stix+json"}, 415, None),
    ("TAXII 2.0", b"{}", {"Content-Type": "application/taxii+json;version=2.0"}, 415, None),
    ("accepts only HTML", b'{"objects": []}', {"Accept": "text/html"}, 406, None),
    (
        "100,000 tiny objects",
        json.dumps({"objects": [{}] * 100_000}).encode(),
        {},
        413,
        None,
    ),
    ("10 MB", b'{"objects": ["' + b"x" * 10_000_000 + b'"]}', {}, 413, None),
]


@pytest.mark.parametrize(
    ("body", "extra", "status", "field"),
    [case[1:] for case in BAD_POSTS],
    ids=[case[0] for case in BAD_POSTS],
)
def test_malformed_posts_are_4xx_and_write_nothing(
    client: TestClient,
    accounts: dict[str, Account],
    collections: tuple[TaxiiCollection, TaxiiCollection],
    db: Session,
    body: bytes,
    extra: dict[str, str],
    status: int,
    field: str | None,
) -> None:
    one, _two = collections
    before = stored(db)
    response = client.post(
        objects_url(one), content=body, headers=headers(accounts["liaison"], **extra)
    )
    assert_taxii_error(response, status, field)
    assert stored(db) == before


def test_invalid_stix_is_refused_per_object(
    client: TestClient,
    accounts: dict[str, Account],
    collections: tuple[TaxiiCollection, TaxiiCollection],
) -> None:
    one, _two = collections
    bad_pattern = indicator(3)
    bad_pattern["pattern"] = "[ipv4-addr:value = "
    no_type = indicator(4)
    del no_type["type"]
    answer = client.post(
        objects_url(one),
        content=json.dumps(envelope(indicator(5), bad_pattern, no_type, "x", 7, None)),  # type: ignore[arg-type]
        headers=headers(accounts["liaison"]),
    )
    assert answer.status_code == 202
    status = answer.json()
    assert status["success_count"] == 1 and status["failure_count"] == 5
    assert all(f["message"] for f in status["failures"])


BAD_FILTERS = [
    ("limit", "abc"),
    ("limit", "0"),
    ("limit", "-5"),
    ("added_after", "yesterday"),
    ("added_after", "2024-01-01T00:00:00"),
    ("match[version]", "newest"),
    ("match[type]", "Not A Type"),
    ("match[id]", "indicator--not-a-uuid"),
    ("match[spec_version]", "two"),
    ("match[colour]", "red"),
    ("match[type]", ",".join(["indicator"] * 101)),
    ("next", "garbage"),
    ("next", "eyJzIjoiIn0.AAAA"),
]


@pytest.mark.parametrize(("name", "value"), BAD_FILTERS)
def test_bad_filter_values_are_400_naming_the_parameter(
    client: TestClient,
    accounts: dict[str, Account],
    collections: tuple[TaxiiCollection, TaxiiCollection],
    name: str,
    value: str,
) -> None:
    one, _two = collections
    for suffix in ("objects/", "manifest/"):
        url = f"/taxii2/node/collections/{one.id}/{suffix}"
        response = client.get(url, params={name: value}, headers=headers(accounts["analyst"]))
        assert_taxii_error(response, 400, name)


def test_a_next_token_is_bound_to_its_collection_and_filters(
    client: TestClient,
    accounts: dict[str, Account],
    collections: tuple[TaxiiCollection, TaxiiCollection],
) -> None:
    one, two = collections
    for collection in (one, two):
        client.post(
            objects_url(collection),
            content=json.dumps(envelope(*(indicator(n) for n in range(10, 16)))),
            headers=headers(accounts["liaison"]),
        )
    first = client.get(objects_url(one), params={"limit": 2}, headers=headers(accounts["analyst"]))
    token = first.json()["next"]
    following = client.get(
        objects_url(one), params={"limit": 2, "next": token}, headers=headers(accounts["analyst"])
    )
    assert following.status_code == 200 and len(following.json()["objects"]) == 2
    elsewhere = client.get(
        objects_url(two), params={"limit": 2, "next": token}, headers=headers(accounts["analyst"])
    )
    assert_taxii_error(elsewhere, 400, "next")
    other_filters = client.get(
        objects_url(one),
        params={"limit": 2, "next": token, "match[type]": "malware"},
        headers=headers(accounts["analyst"]),
    )
    assert_taxii_error(other_filters, 400, "next")
    manifest = client.get(
        f"/taxii2/node/collections/{one.id}/manifest/",
        params={"limit": 2, "next": token},
        headers=headers(accounts["analyst"]),
    )
    assert_taxii_error(manifest, 400, "next")
    payload, signature = token.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    assert_taxii_error(
        client.get(
            objects_url(one),
            params={"limit": 2, "next": forged},
            headers=headers(accounts["analyst"]),
        ),
        400,
        "next",
    )


def test_authentication_answers(
    client: TestClient,
    accounts: dict[str, Account],
    collections: tuple[TaxiiCollection, TaxiiCollection],
) -> None:
    anonymous = client.get("/taxii2/", headers={"Accept": TAXII})
    assert_taxii_error(anonymous, 401)
    assert "Basic" in anonymous.headers["www-authenticate"]
    assert "Bearer" in anonymous.headers["www-authenticate"]
    for value in ("Basic !!!", "Basic Zm9v", "Bearer ind_nope", "Token ind_nope", "Digest x"):
        assert_taxii_error(client.get("/taxii2/", headers={"Authorization": value}), 401)
    liaison = accounts["liaison"]
    good = client.get("/taxii2/", auth=(liaison.username, liaison.password))
    assert good.status_code == 200
    wrong = client.get("/taxii2/", auth=(liaison.username, "not-the-password"))
    assert_taxii_error(wrong, 401)
    # An API token works as the Basic password too, for clients that only speak Basic.
    assert client.get("/taxii2/", auth=(liaison.username, liaison.token)).status_code == 200
    other = accounts["analyst"].username
    assert_taxii_error(client.get("/taxii2/", auth=(other, liaison.token)), 401)


def test_unknown_roots_collections_objects_and_statuses_are_404(
    client: TestClient,
    accounts: dict[str, Account],
    collections: tuple[TaxiiCollection, TaxiiCollection],
) -> None:
    one, _two = collections
    h = headers(accounts["analyst"])
    for url in (
        "/taxii2/nowhere/",
        "/taxii2/nowhere/collections/",
        f"/taxii2/sco/collections/{one.id}/",
        "/taxii2/node/collections/00000000-0000-0000-0000-000000000000/",
        "/taxii2/node/collections/not-a-uuid/objects/",
        f"/taxii2/node/collections/{one.id}/objects/indicator--00000000-0000-4000-8000-000000000000/",
        f"/taxii2/node/collections/{one.id}/objects/not-an-id/versions/",
        "/taxii2/node/status/00000000-0000-0000-0000-000000000000/",
        "/taxii2/node/status/" + "x" * 37 + "/",
        "/taxii2/node/no/such/endpoint/",
    ):
        response = client.get(url, headers=h)
        assert response.status_code in (404, 422), (url, response.status_code)
        assert_taxii_error(response, response.status_code)


TAXII_WRITES = {
    ("POST", "/taxii2/{root}/collections/{collection_id}/objects/"),
    ("DELETE", "/taxii2/{root}/collections/{collection_id}/objects/{object_id}/"),
}


def test_every_taxii_write_route_is_covered_here(app: FastAPI) -> None:
    """A new TAXII write route fails this test until bad input for it is tried above."""
    for template, operations in app.openapi()["paths"].items():
        if not template.startswith("/taxii2/"):
            continue
        for method in operations:
            if method.upper() != "GET":
                assert (method.upper(), template) in TAXII_WRITES, template


def test_delete_of_a_missing_or_foreign_object(
    client: TestClient,
    accounts: dict[str, Account],
    collections: tuple[TaxiiCollection, TaxiiCollection],
    db: Session,
) -> None:
    one, _two = collections
    client.post(
        objects_url(one),
        content=json.dumps(envelope(indicator(40))),
        headers=headers(accounts["liaison"]),
    )
    before = stored(db)
    url = objects_url(one) + indicator(40)["id"] + "/"
    assert_taxii_error(client.delete(url, headers=headers(accounts["analyst"])), 403)
    missing = objects_url(one) + indicator(41)["id"] + "/"
    assert_taxii_error(client.delete(missing, headers=headers(accounts["liaison"])), 404)
    bad = client.delete(
        url, params={"match[version]": "soon"}, headers=headers(accounts["liaison"])
    )
    assert_taxii_error(bad, 400, "match[version]")
    assert stored(db) == before
    assert re.match(r"^\d", indicator(40)["modified"])
