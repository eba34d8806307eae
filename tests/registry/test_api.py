"""The registry's REST routes: authentication, answers, and bad input that never changes anything."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indivisible.models import Base
from tests.conftest import Account

PROBLEM = "application/problem+json"


def fingerprint(db: Session) -> dict[str, int]:
    """Row counts of every table: equal before and after means nothing was written."""
    db.expire_all()
    return {
        table.name: db.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
        if table.name != "web_session"
    }


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        fields = [e["field"] for e in body.get("errors", [])]
        assert any(
            f == field or f.startswith(field + ".") or f.startswith(field + "[") for f in fields
        ), body
        assert all(e["rule"] and e["message"] for e in body["errors"])
    return body


GOOD_MEMBERSHIP = {
    "state": "MNG",
    "organisation": "CSTO",
    "status": "observer",
    "valid_from": "2030-01-01",
    "sources": ["iso-3166-1"],
}


def test_reads_need_credentials(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/registry/organisations"), 401)
    assert_problem(
        client.get("/api/v1/registry/organisations", headers={"Authorization": "Bearer nope"}), 401
    )


def test_questions_over_http(client: TestClient, accounts: dict[str, Account]) -> None:
    headers = accounts["observer"].headers
    r = client.get(
        "/api/v1/registry/organisations/SCO/members",
        params={"on": "2017-06-09", "status": "member"},
        headers=headers,
    )
    assert r.status_code == 200
    assert {m["state_code"] for m in r.json()["members"]} == {
        "CHN",
        "KAZ",
        "KGZ",
        "RUS",
        "TJK",
        "UZB",
        "IND",
        "PAK",
    }
    assert all(m["sources"] for m in r.json()["members"])
    r = client.get(
        "/api/v1/registry/states/KAZ/assistance", params={"on": "2022-01-05"}, headers=headers
    )
    assert {d["state"] for d in r.json()["bound_to_assist"]} >= {"RUS", "BLR", "ARM", "KGZ", "TJK"}
    r = client.get(
        "/api/v1/registry/states/AFG/security-belt", params={"on": "2024-01-01"}, headers=headers
    )
    assert len(r.json()["neighbours"]) == 6
    r = client.get(
        "/api/v1/registry/overlap",
        params={"a": "SCO", "b": "CSTO", "on": "2024-07-04"},
        headers=headers,
    )
    assert set(r.json()["both"]) == {"BLR", "KAZ", "KGZ", "RUS", "TJK"}
    r = client.get(
        "/api/v1/registry/agreements/CST-1992/parties", params={"on": "1998-01-01"}, headers=headers
    )
    assert len(r.json()["parties"]) == 9
    r = client.get(
        "/api/v1/registry/states/KAZ/standing", params={"on": "2020-01-01"}, headers=headers
    )
    assert {m["organisation_code"] for m in r.json()["memberships"]} >= {
        "SCO",
        "CSTO",
        "CIS",
        "EAEU",
    }
    r = client.get("/api/v1/registry/organisations/CSTO/timeline", headers=headers)
    assert any(row["state"] == "UZB" and len(row["periods"]) >= 2 for row in r.json())


def test_bad_query_values_are_422_not_500(client: TestClient, accounts: dict[str, Account]) -> None:
    headers = accounts["analyst"].headers
    assert_problem(
        client.get(
            "/api/v1/registry/organisations/SCO/members",
            params={"on": "yesterday"},
            headers=headers,
        ),
        422,
        "query.on",
    )
    assert_problem(
        client.get(
            "/api/v1/registry/organisations/SCO/members", params={"status": "ally"}, headers=headers
        ),
        422,
        "query.status",
    )
    assert_problem(
        client.get("/api/v1/registry/organisations/NOPE/members", headers=headers),
        404,
        "organisation",
    )
    assert_problem(
        client.get("/api/v1/registry/states/ZZZ/assistance", headers=headers), 404, "state"
    )


def test_admin_adds_a_membership_and_it_is_logged(
    client: TestClient, accounts: dict[str, Account], db: Session
) -> None:
    before = fingerprint(db)
    r = client.post(
        "/api/v1/registry/memberships", json=GOOD_MEMBERSHIP, headers=accounts["admin"].headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["sources"][0]["key"] == "iso-3166-1"
    after = fingerprint(db)
    assert after["membership"] == before["membership"] + 1
    assert after["change_record"] == before["change_record"] + 1
    assert after["citation"] == before["citation"] + 1
    r = client.patch(
        f"/api/v1/registry/memberships/{r.json()['id']}",
        json={"valid_to": "2031-01-01"},
        headers=accounts["admin"].headers,
    )
    assert r.status_code == 200 and r.json()["valid_to"] == "2031-01-01"


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"state": "XXX"}, 422, "state"),
        ({"state": "kaz"}, 422, "state"),
        ({"organisation": "NOPE"}, 422, "organisation"),
        ({"sources": []}, 422, "sources"),
        ({"sources": ["no-such-source"]}, 422, "sources"),
        ({"status": "ally"}, 422, "status"),
        ({"valid_from": "not a date"}, 422, "valid_from"),
        ({"valid_from": 12}, 422, "valid_from"),
        ({"valid_to": "2029-01-01"}, 422, None),
        ({"extra": "field"}, 422, "extra"),
        # Kazakhstan has been a CSTO member since 2003: a second open period overlaps it.
        ({"state": "KAZ", "status": "member", "valid_from": "2020-01-01"}, 409, "valid_from"),
    ],
)
def test_bad_membership_input_is_refused_and_writes_nothing(
    client: TestClient,
    accounts: dict[str, Account],
    db: Session,
    change: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    before = fingerprint(db)
    body = {**GOOD_MEMBERSHIP, **change}
    assert_problem(
        client.post("/api/v1/registry/memberships", json=body, headers=accounts["admin"].headers),
        status,
        field,
    )
    assert fingerprint(db) == before


BAD_WRITES: list[tuple[str, str, Any, int, str | None]] = [
    (
        "post",
        "/api/v1/registry/organisations",
        {"code": "NEWORG", "name": {"en": "New"}, "kind": "forum", "sources": []},
        422,
        "sources",
    ),
    (
        "post",
        "/api/v1/registry/organisations",
        {"code": "SCO", "name": {"en": "Dup"}, "kind": "forum", "sources": ["iso-3166-1"]},
        409,
        "code",
    ),
    (
        "post",
        "/api/v1/registry/organisations",
        {"code": "new org", "name": {"en": "x"}, "kind": "forum", "sources": ["iso-3166-1"]},
        422,
        "code",
    ),
    (
        "post",
        "/api/v1/registry/organisations",
        {
            "code": "NEWORG",
            "name": {"en": "x"},
            "kind": "forum",
            "seat_state": "XXX",
            "sources": ["iso-3166-1"],
        },
        422,
        "seat_state",
    ),
    (
        "post",
        "/api/v1/registry/bodies",
        {
            "code": "NEW-BODY",
            "organisation": "NOPE",
            "name": {"en": "x"},
            "kind": "council",
            "sources": ["iso-3166-1"],
        },
        422,
        "organisation",
    ),
    (
        "post",
        "/api/v1/registry/bodies",
        {
            "code": "NEW-BODY",
            "organisation": "SCO",
            "name": {"en": "x"},
            "kind": "army",
            "sources": ["iso-3166-1"],
        },
        422,
        "kind",
    ),
    (
        "post",
        "/api/v1/registry/borders",
        {"states": ["KAZ", "XXX"], "length_km": 5, "sources": ["iso-3166-1"]},
        422,
        "states",
    ),
    (
        "post",
        "/api/v1/registry/borders",
        {"states": ["KAZ", "KAZ"], "length_km": 5, "sources": ["iso-3166-1"]},
        422,
        None,
    ),
    (
        "post",
        "/api/v1/registry/borders",
        {"states": ["KAZ", "CHN"], "length_km": "long", "sources": ["iso-3166-1"]},
        422,
        "length_km",
    ),
    (
        "post",
        "/api/v1/registry/borders",
        {"states": ["KAZ", "CHN"], "length_km": 5, "sources": ["iso-3166-1"]},
        409,
        "states",
    ),
    (
        "post",
        "/api/v1/registry/sources",
        {"key": "x-new", "title": "t", "accessed": "2026-01-01"},
        422,
        None,
    ),
    (
        "post",
        "/api/v1/registry/sources",
        {"key": "Bad Key", "title": "t", "url": "https://e.org", "accessed": "2026-01-01"},
        422,
        "key",
    ),
    (
        "post",
        "/api/v1/registry/sources",
        {"key": "x-new", "title": "t", "url": "ftp://e.org", "accessed": "2026-01-01"},
        422,
        "url",
    ),
    (
        "post",
        "/api/v1/registry/agreements",
        {
            "code": "NEW-TREATY",
            "title": {"en": "t"},
            "kind": "treaty",
            "sources": ["iso-3166-1"],
            "parties": [],
        },
        422,
        "parties",
    ),
    (
        "post",
        "/api/v1/registry/agreements",
        {
            "code": "NEW-TREATY",
            "title": {"en": "t"},
            "kind": "treaty",
            "sources": ["iso-3166-1"],
            "parties": [{"state": "XXX", "sources": ["iso-3166-1"]}],
        },
        422,
        "parties[0].state",
    ),
    (
        "post",
        "/api/v1/registry/agreements",
        {
            "code": "NEW-TREATY",
            "title": {"en": "t"},
            "kind": "treaty",
            "sources": ["iso-3166-1"],
            "parties": [{"state": "KAZ", "sources": ["nope-source"]}],
        },
        422,
        "parties[0].sources",
    ),
    (
        "post",
        "/api/v1/registry/agreements",
        {
            "code": "NEW-TREATY",
            "title": {"en": "t"},
            "kind": "treaty",
            "sources": ["iso-3166-1"],
            "parties": [{"state": "KAZ", "members_of": "SCO", "sources": ["iso-3166-1"]}],
        },
        422,
        "parties.0",
    ),
    (
        "post",
        "/api/v1/registry/agreements",
        {
            "code": "CST-1992",
            "title": {"en": "t"},
            "kind": "treaty",
            "sources": ["iso-3166-1"],
            "parties": [{"state": "KAZ", "sources": ["iso-3166-1"]}],
        },
        409,
        "code",
    ),
    ("patch", "/api/v1/registry/memberships/999999", {"valid_to": "2030-01-01"}, 404, None),
    ("delete", "/api/v1/registry/memberships/999999", None, 404, None),
    (
        "post",
        "/api/v1/auth/principals",
        {
            "username": "x",
            "display_name": "x",
            "role": "liaison",
            "state": "KAZ",
            "password": "long-enough-pw",
        },
        422,
        "username",
    ),
    (
        "post",
        "/api/v1/auth/principals",
        {
            "username": "new-user",
            "display_name": "x",
            "role": "liaison",
            "password": "long-enough-pw",
        },
        422,
        "state",
    ),
    (
        "post",
        "/api/v1/auth/principals",
        {
            "username": "new-user",
            "display_name": "x",
            "role": "liaison",
            "state": "XXX",
            "password": "long-enough-pw",
        },
        422,
        "state",
    ),
    (
        "post",
        "/api/v1/auth/principals",
        {"username": "t-admin", "display_name": "x", "role": "admin", "password": "long-enough-pw"},
        409,
        "username",
    ),
    ("post", "/api/v1/auth/tokens", {"name": "", "expires_in_days": 5}, 422, "name"),
    ("post", "/api/v1/auth/tokens", {"name": "x", "expires_in_days": 0}, 422, "expires_in_days"),
    ("delete", "/api/v1/auth/tokens/999999", None, 404, None),
    ("post", "/api/v1/registry/memberships", {**GOOD_MEMBERSHIP, "state": "XXX"}, 422, "state"),
    ("delete", "/api/v1/registry/agreements/NO-SUCH-AGREEMENT", None, 404, None),
    ("delete", "/api/v1/registry/borders/KAZ/XXX", None, 404, None),
    ("delete", "/api/v1/registry/bodies/NO-SUCH-BODY", None, 404, None),
    (
        "post",
        "/api/v1/cbm/notifications",
        {
            "kind": "exercise",
            "start": "2026-06-10",
            "end": "2026-06-01",
            "location": {"point": [80.0, 44.5]},
        },
        422,
        "end",
    ),
    ("post", "/api/v1/cbm/notifications/999999/acknowledgement", None, 404, None),
    ("post", "/api/v1/cbm/notifications/1/clarifications", {"question": ""}, 422, "question"),
    ("post", "/api/v1/cbm/clarifications/999999/answer", {"answer": "x", "extra": 1}, 422, "extra"),
    (
        "post",
        "/api/v1/cbm/annual-data",
        {
            "rule_set": "MOSCOW-REDUCTION-1997",
            "year": 2026,
            "holdings": [{"category": "personnel", "count": -1}],
        },
        422,
        "holdings.0.count",
    ),
    (
        "post",
        "/api/v1/cbm/calendars",
        {
            "year": 2026,
            "activities": [
                {
                    "kind": "exercise",
                    "start": "2027-01-10",
                    "end": "2027-01-12",
                    "location": {"point": [80.0, 44.5]},
                }
            ],
        },
        422,
        "activities",
    ),
    (
        "post",
        "/api/v1/cbm/verifications",
        {
            "rule_set": "MOSCOW-REDUCTION-1997",
            "kind": "audit",
            "receiving_state": "CHN",
            "visit_on": "2026-06-01",
        },
        422,
        "kind",
    ),
    ("post", "/api/v1/cbm/verifications/999999/decision", {"accept": "maybe"}, 422, "accept"),
    ("post", "/api/v1/cbm/verifications/999999/report", {"report": ""}, 422, "report"),
    ("post", "/api/v1/cbm/webhooks", {"url": "x"}, 422, "url"),
    (
        "post",
        "/api/v1/crisis/requests",
        {
            "organisation": "CSTO",
            "kind": "unrest",
            "summary": "x",
            "agreement": "CST-1992",
            "article": "Article 4",
            "time_zone": "Asia/Almaty",
            "requested_at": "2022-01-05T23:00:00",
        },
        422,
        "requested_at",
    ),
    (
        "post",
        "/api/v1/crisis/crises/999999/decisions",
        {"body": "CSTO-CSC", "session_on": "2022-13-01", "question": "?"},
        422,
        "session_on",
    ),
    ("post", "/api/v1/crisis/decisions/999999/positions", {"position": "maybe"}, 422, "position"),
    (
        "post",
        "/api/v1/crisis/decisions/999999/close",
        {"time_zone": "Asia/Almaty", "decided_at": "2022-01-06"},
        422,
        "decided_at",
    ),
    (
        "post",
        "/api/v1/crisis/crises/999999/consultations",
        {
            "time_zone": "Asia/Almaty",
            "held_at": "2022-01-06T10:00:00+06:00",
            "format": "x",
            "participants": ["kaz"],
            "summary": "x",
        },
        422,
        "participants.0",
    ),
    (
        "post",
        "/api/v1/crisis/crises/999999/operation",
        {
            "decision": 1,
            "name": "x",
            "mandate": "x",
            "area": "x",
            "time_zone": "Asia/Almaty",
            "planned_start": "2022-01-07T00:00:00+06:00",
            "planned_end": "2022-01-06T00:00:00+06:00",
        },
        422,
        "planned_end",
    ),
    ("post", "/api/v1/crisis/operations/999999/tasks", {"title": ""}, 422, "title"),
    (
        "put",
        "/api/v1/crisis/operations/999999/withdrawal-plan",
        {
            "time_zone": "Asia/Almaty",
            "planned_start": "2022-01-13T12:00:00+06:00",
            "planned_end": "2022-01-23T12:00:00+05:00",
            "text": "x",
        },
        422,
        "planned_end",
    ),
    (
        "post",
        "/api/v1/crisis/operations/999999/pledges",
        {
            "time_zone": "Europe/Moscow",
            "pledged_at": "2022-01-06T12:00:00+03:00",
            "personnel_low": 100,
            "personnel_high": 50,
        },
        422,
        "personnel_high",
    ),
    (
        "post",
        "/api/v1/crisis/operations/999999/contingents",
        {"name": "x", "personnel_low": 10},
        422,
        "personnel_high",
    ),
    (
        "post",
        "/api/v1/crisis/contingents/999999/steps",
        {"kind": "task-taken-over", "time_zone": "Asia/Almaty", "at": "2022-01-07T12:00:00+06:00"},
        422,
        "task",
    ),
    (
        "post",
        "/api/v1/crisis/operations/999999/reports",
        {"time_zone": "Asia/Almaty", "at": "2022-01-07T12:00:00+06:00", "text": ""},
        422,
        "text",
    ),
    (
        "post",
        "/api/v1/crisis/forces",
        {
            "organisation": "CSTO",
            "unit": "x",
            "personnel": 0,
            "readiness_hours": 24,
            "valid_from": "2022-01-01",
        },
        422,
        "personnel",
    ),
    ("post", "/api/v1/crisis/operations/999999/tasks", {"title": "x"}, 404, None),
    (
        "post",
        "/api/v1/warning/alerts",
        {"name": "x", "country": "AFG", "indicator": "events", "condition": "above"},
        422,
        "threshold",
    ),
    ("put", "/api/v1/warning/alerts/999999/subscription", None, 403, None),
    ("delete", "/api/v1/warning/alerts/999999/subscription", None, 403, None),
    ("post", "/api/v1/warning/alerts/evaluate?months=0", None, 422, "query.months"),
    ("post", "/api/v1/auth/keys", {"public_key": "too short"}, 422, "public_key"),
    ("post", f"/api/v1/auth/keys/{'0' * 32}/retire", {"reason": ""}, 422, "reason"),
    ("post", f"/api/v1/auth/keys/{'0' * 32}/revoke", {"reason": ""}, 422, "reason"),
    (
        "post",
        "/api/v1/auth/keys/verify",
        {"state": "kaz", "document": {}, "signature": {}, "signed_at": "2026-01-01T00:00:00Z"},
        422,
        "state",
    ),
    ("delete", "/api/v1/cbm/webhooks/999999", None, 403, None),
    ("post", "/api/v1/sharing/groups", {"name": ""}, 422, "name"),
    (
        "post",
        "/api/v1/sharing/groups/999999/members",
        {"state": "KAZ", "organisation": "SCO"},
        422,
        None,
    ),
    ("post", "/api/v1/sharing/groups/999999/members", {"state": "KAZ"}, 404, None),
    ("delete", "/api/v1/sharing/groups/999999/members/KAZ", None, 404, None),
    ("delete", "/api/v1/sharing/groups/999999", None, 404, None),
    ("post", "/api/v1/sharing/objects", {"collection": "", "objects": []}, 422, "collection"),
    ("post", "/api/v1/sharing/objects", {"collection": "no-such", "objects": []}, 404, None),
]


def test_every_write_route_has_a_bad_input_case(app: FastAPI) -> None:
    """A new write route fails this test until it is given a case in BAD_WRITES."""
    covered = {(method.upper(), path) for method, path, *_ in BAD_WRITES}
    for template, operations in app.openapi()["paths"].items():
        if template.startswith("/taxii2/"):
            continue  # TAXII answers in its own error format: tests/sharing/test_taxii_api.py
        pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$")
        for method in operations:
            if method.upper() == "GET":
                continue
            # A case may carry a query string: the route is its path.
            assert any(
                m == method.upper() and pattern.match(p.split("?")[0]) for m, p in covered
            ), f"{method.upper()} {template} has no bad-input case in BAD_WRITES"


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), BAD_WRITES)
def test_every_write_route_refuses_bad_input_cleanly(
    client: TestClient,
    accounts: dict[str, Account],
    db: Session,
    method: str,
    path: str,
    body: Any,
    status: int,
    field: str | None,
) -> None:
    before = fingerprint(db)
    response = client.request(method, path, json=body, headers=accounts["admin"].headers)
    assert_problem(response, status, field)
    assert fingerprint(db) == before


def test_wrong_types_and_broken_json(
    client: TestClient, accounts: dict[str, Account], db: Session
) -> None:
    before = fingerprint(db)
    headers = {**accounts["admin"].headers, "content-type": "application/json"}
    assert_problem(
        client.post("/api/v1/registry/memberships", content=b"{not json", headers=headers), 422
    )
    assert_problem(client.post("/api/v1/registry/memberships", content=b"[]", headers=headers), 422)
    assert_problem(
        client.post(
            "/api/v1/registry/memberships",
            json={**GOOD_MEMBERSHIP, "sources": "iso-3166-1"},
            headers=headers,
        ),
        422,
        "sources",
    )
    assert fingerprint(db) == before


def test_oversized_payload_is_413(
    client: TestClient, accounts: dict[str, Account], db: Session
) -> None:
    before = fingerprint(db)
    body = {**GOOD_MEMBERSHIP, "note": "x" * 100_000}
    assert_problem(
        client.post("/api/v1/registry/memberships", json=body, headers=accounts["admin"].headers),
        413,
    )
    assert fingerprint(db) == before


@pytest.mark.parametrize("role", ["liaison", "analyst", "observer"])
def test_only_admins_and_secretariats_edit(
    client: TestClient, accounts: dict[str, Account], db: Session, role: str
) -> None:
    before = fingerprint(db)
    assert_problem(
        client.post(
            "/api/v1/registry/memberships", json=GOOD_MEMBERSHIP, headers=accounts[role].headers
        ),
        403,
    )
    assert fingerprint(db) == before


def test_a_secretariat_edits_only_its_own_organisation(
    client: TestClient, accounts: dict[str, Account], db: Session
) -> None:
    headers = accounts["secretariat"].headers  # of the SCO Secretariat
    assert_problem(
        client.post("/api/v1/registry/memberships", json=GOOD_MEMBERSHIP, headers=headers), 403
    )
    own = {**GOOD_MEMBERSHIP, "organisation": "SCO", "state": "NZL", "sources": ["iso-3166-1"]}
    assert client.post("/api/v1/registry/memberships", json=own, headers=headers).status_code == 201


membership_payloads = st.fixed_dictionaries(
    {
        "state": st.sampled_from(["KAZ", "RUS", "MNG", "XXX", "kaz", "", "KAZAKHSTAN"]),
        "organisation": st.sampled_from(["SCO", "CSTO", "NOPE", ""]),
        "status": st.sampled_from(["member", "observer", "frozen", "ally", ""]),
        "valid_from": st.one_of(st.dates().map(str), st.text(max_size=12), st.integers()),
        "sources": st.lists(st.sampled_from(["iso-3166-1", "missing-source", ""]), max_size=3),
    },
    optional={
        "valid_to": st.one_of(st.none(), st.dates().map(str)),
        "note": st.text(max_size=50),
        "bogus": st.integers(),
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=membership_payloads)
def test_property_a_membership_write_is_all_or_nothing(
    client: TestClient, accounts: dict[str, Account], db: Session, payload: dict[str, Any]
) -> None:
    """Whatever is sent: never a 5xx; a refusal is problem+json and writes nothing; success writes one period."""
    before = fingerprint(db)
    response = client.post(
        "/api/v1/registry/memberships", json=payload, headers=accounts["admin"].headers
    )
    assert response.status_code < 500, response.text
    after = fingerprint(db)
    if response.status_code == 201:
        assert after["membership"] == before["membership"] + 1
        client.delete(
            f"/api/v1/registry/memberships/{response.json()['id']}",
            headers=accounts["admin"].headers,
        )
    else:
        assert response.headers["content-type"].startswith(PROBLEM)
        assert after == before
