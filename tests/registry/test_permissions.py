"""Who may write which registry facts: admins everything, a secretariat only its organisation's."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import Account
from tests.registry.test_api import assert_problem, fingerprint

SOURCE = {
    "key": "sec-new",
    "title": "A new source",
    "url": "https://example.org/s",
    "accessed": "2026-01-01",
}
PACT = {
    "code": "USA-AFG-PACT",
    "title": {"en": "A pact"},
    "kind": "treaty",
    "signed": "2020-01-01",
    "sources": ["iso-3166-1"],
    "parties": [
        {"state": "USA", "sources": ["iso-3166-1"]},
        {"state": "AFG", "sources": ["iso-3166-1"]},
    ],
    "obligations": [
        {
            "kind": "mutual-assistance",
            "article": "Art. 1",
            "summary": "Help.",
            "sources": ["iso-3166-1"],
        }
    ],
}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "post",
            "/api/v1/registry/borders",
            {"states": ["FRA", "CHN"], "length_km": 1, "sources": ["iso-3166-1"]},
        ),
        ("post", "/api/v1/registry/agreements", PACT),
        (
            "post",
            "/api/v1/registry/agreements",
            {**PACT, "code": "CSTO-PACT", "organisation": "CSTO"},
        ),
        (
            "post",
            "/api/v1/registry/organisations",
            {"code": "NEWORG", "name": {"en": "x"}, "kind": "forum", "sources": ["iso-3166-1"]},
        ),
        (
            "post",
            "/api/v1/registry/bodies",
            {
                "code": "CSTO-NEW",
                "organisation": "CSTO",
                "name": {"en": "x"},
                "kind": "council",
                "sources": ["iso-3166-1"],
            },
        ),
        ("delete", "/api/v1/registry/agreements/CST-1992", None),
        ("delete", "/api/v1/registry/borders/AFG/IRN", None),
        ("delete", "/api/v1/registry/bodies/CSTO-SECRETARIAT", None),
    ],
)
def test_a_secretariat_cannot_write_outside_its_organisation(
    client: TestClient, accounts: dict[str, Account], db: Session, method: str, path: str, body: Any
) -> None:
    before = fingerprint(db)
    response = client.request(method, path, json=body, headers=accounts["secretariat"].headers)
    assert_problem(response, 403)
    assert fingerprint(db) == before


def test_no_one_but_an_admin_can_make_a_state_bound_to_assist(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    for role in ("secretariat", "liaison", "analyst", "observer"):
        assert (
            client.post(
                "/api/v1/registry/agreements", json=PACT, headers=accounts[role].headers
            ).status_code
            == 403
        )
    assistance = client.get(
        "/api/v1/registry/states/AFG/assistance",
        params={"on": "2021-01-01"},
        headers=accounts["analyst"].headers,
    )
    assert "USA" not in {d["state"] for d in assistance.json()["bound_to_assist"]}
    assert (
        client.post(
            "/api/v1/registry/agreements", json=PACT, headers=accounts["admin"].headers
        ).status_code
        == 201
    )
    assistance = client.get(
        "/api/v1/registry/states/AFG/assistance",
        params={"on": "2021-01-01"},
        headers=accounts["analyst"].headers,
    )
    duty = next(d for d in assistance.json()["bound_to_assist"] if d["state"] == "USA")
    assert {c["code"] for c in duty["caveats"]} == {"in_force_unrecorded"}
    assert (
        client.delete(
            "/api/v1/registry/agreements/USA-AFG-PACT", headers=accounts["admin"].headers
        ).status_code
        == 204
    )


def test_a_secretariat_adds_sources_but_cannot_reword_one(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    headers = accounts["secretariat"].headers
    assert client.post("/api/v1/registry/sources", json=SOURCE, headers=headers).status_code == 201
    assert_problem(
        client.post("/api/v1/registry/sources", json=SOURCE, headers=headers), 409, "key"
    )


def test_a_secretariat_edits_its_own_organisations_bodies(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    body = {
        "code": "SCO-NEW-CENTRE",
        "organisation": "SCO",
        "name": {"en": "New centre"},
        "kind": "centre",
        "sources": ["iso-3166-1"],
    }
    headers = accounts["secretariat"].headers
    assert client.post("/api/v1/registry/bodies", json=body, headers=headers).status_code == 201
    assert (
        client.delete("/api/v1/registry/bodies/SCO-NEW-CENTRE", headers=headers).status_code == 204
    )
    # The SCO Secretariat itself has accounts acting for it, so it cannot be removed.
    assert_problem(
        client.delete("/api/v1/registry/bodies/SCO-SECRETARIAT", headers=accounts["admin"].headers),
        409,
    )


def test_a_secretariat_records_agreements_among_its_own_members_only(
    client: TestClient, accounts: dict[str, Account], db: Session
) -> None:
    headers = accounts["secretariat"].headers
    outsiders = {
        **PACT,
        "code": "SCO-USA-GBR",
        "organisation": "SCO",
        "parties": [
            {"state": "USA", "sources": ["iso-3166-1"]},
            {"members_of": "CSTO", "sources": ["iso-3166-1"]},
        ],
    }
    before = fingerprint(db)
    assert_problem(
        client.post("/api/v1/registry/agreements", json=outsiders, headers=headers), 403, "parties"
    )
    assert fingerprint(db) == before
    own = {
        **PACT,
        "code": "SCO-OWN",
        "organisation": "SCO",
        "parties": [{"members_of": "SCO", "sources": ["iso-3166-1"]}],
    }
    assert client.post("/api/v1/registry/agreements", json=own, headers=headers).status_code == 201


def test_rewording_an_existing_source_is_for_admins(
    db: Session, accounts: dict[str, Account]
) -> None:
    from datetime import date

    from indivisible.auth import service as auth_service
    from indivisible.errors import PermissionDenied
    from indivisible.registry import service
    from indivisible.registry.schemas import SourceCreate

    secretariat = auth_service.resolve_token(db, accounts["secretariat"].token)
    reworded = SourceCreate(
        key="iso-3166-1",
        title="Something else",
        url="https://example.org",
        accessed=date(2026, 1, 1),
    )
    with pytest.raises(PermissionDenied):
        service.put_source(db, secretariat, reworded)
    fresh = reworded.model_copy(update={"key": "sco-new-source"})
    assert service.put_source(db, secretariat, fresh)[1].value == "added"
