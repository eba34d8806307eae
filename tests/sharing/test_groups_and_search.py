"""Sharing groups managed by the secretariat, and search, object view and submission over the
REST API, with release to a group checked on every read (both databases)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor
from indivisible.sharing import service
from indivisible.sharing.schemas import CollectionCreate, Distribution, Release
from tests.conftest import Account
from tests.sharing.test_store import indicator

GREEN = ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]


def collection(db: Session) -> str:
    created = service.create_collection(
        db,
        Actor.console("t"),
        CollectionCreate(title="Shared", release=Release(distribution=Distribution.node)),
    )
    db.commit()
    return created.id


def test_the_secretariat_manages_groups_and_a_group_release_follows_them(
    client: TestClient, accounts: dict[str, Account], db: Session
) -> None:
    secretariat, kaz, rus = (accounts[k].headers for k in ("secretariat", "liaison", "analyst"))
    assert (
        client.post(
            "/api/v1/sharing/groups", json={"name": "Border partners"}, headers=kaz
        ).status_code
        == 403
    )
    created = client.post(
        "/api/v1/sharing/groups", json={"name": "Border partners"}, headers=secretariat
    )
    assert created.status_code == 201, created.text
    group = created.json()["id"]
    duplicate = client.post(
        "/api/v1/sharing/groups", json={"name": "Border partners"}, headers=secretariat
    )
    assert duplicate.status_code == 409
    members = client.post(
        f"/api/v1/sharing/groups/{group}/members", json={"state": "KGZ"}, headers=secretariat
    )
    assert members.json()["states"] == ["KGZ"]

    target = collection(db)
    obj = indicator(1, object_marking_refs=GREEN, name="Border crossing watch list")
    release: dict[str, Any] = {"distribution": "group", "group": "Border partners"}
    stored = client.post(
        "/api/v1/sharing/objects",
        json={"collection": target, "release": release, "objects": [obj, {"type": "indicator"}]},
        headers=kaz,
    )
    assert stored.status_code == 200, stored.text
    assert [s["id"] for s in stored.json()["successes"]] == [obj["id"]]
    assert len(stored.json()["failures"]) == 1

    # Russia is not in the group: search, count and object view all say nothing.
    found = client.get("/api/v1/sharing/objects", params={"q": "watch list"}, headers=rus).json()
    assert found == {"total": 0, "objects": []}
    assert client.get(f"/api/v1/sharing/objects/{obj['id']}", headers=rus).status_code == 404
    # Kazakhstan, the submitter, sees it with its release.
    mine = client.get(f"/api/v1/sharing/objects/{obj['id']}", headers=kaz).json()
    assert (
        mine["release"]["distribution"] == "group" and mine["release"]["group"] == "Border partners"
    )
    assert [v["version"] for v in mine["history"]] == [obj["modified"]]

    # Once Russia joins the group, it sees the object.
    client.post(
        f"/api/v1/sharing/groups/{group}/members", json={"state": "RUS"}, headers=secretariat
    )
    found = client.get("/api/v1/sharing/objects", params={"q": "WATCH LIST"}, headers=rus).json()
    assert found["total"] == 1 and found["objects"][0]["stix_id"] == obj["id"]
    # The group is in use: it cannot be deleted, and removing a member hides the object again.
    assert client.delete(f"/api/v1/sharing/groups/{group}", headers=secretariat).status_code == 409
    client.delete(f"/api/v1/sharing/groups/{group}/members/RUS", headers=secretariat)
    assert client.get("/api/v1/sharing/objects", headers=rus).json()["total"] == 0


def test_a_bundle_is_imported_over_the_api(
    client: TestClient, accounts: dict[str, Account], db: Session
) -> None:
    target = collection(db)
    bundle = {
        "type": "bundle",
        "id": "bundle--6b0a1b2e-1f6f-4c1e-9f3b-5b0f1c2d3e4f",
        "objects": [
            indicator(2, object_marking_refs=GREEN),
            indicator(3, object_marking_refs=GREEN),
        ],
    }
    headers = accounts["liaison"].headers
    first = client.post(
        "/api/v1/sharing/objects", json={"collection": target, "bundle": bundle}, headers=headers
    )
    assert first.status_code == 200 and len(first.json()["successes"]) == 2
    again = client.post(
        "/api/v1/sharing/objects", json={"collection": target, "bundle": bundle}, headers=headers
    )
    assert {s["message"] for s in again.json()["successes"]} == {"already stored"}
    wrong = client.post(
        "/api/v1/sharing/objects",
        json={"collection": target, "bundle": {"type": "indicator"}},
        headers=headers,
    )
    assert wrong.status_code == 422
    everyone = client.get(
        "/api/v1/sharing/objects", params={"type": "indicator"}, headers=accounts["analyst"].headers
    ).json()
    assert everyone["total"] == 2
