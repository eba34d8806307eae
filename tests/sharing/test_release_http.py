"""Release control as a property over HTTP: what the routes answer, with a real account's token,
agrees with the plain rule on any generated world (test_release_property.py holds the rule and
the worlds; this file asks the endpoints instead of the services behind them)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from indivisible.auth import service as auth_service
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate, TokenCreate
from indivisible.registry.models import Body
from indivisible.sharing.service import as_utc
from tests.sharing.test_release_property import (
    ORGS,
    Obj,
    Period,
    _organisations,
    groups,
    objects,
    periods,
    populate,
    readers,
)

TAXII = "application/taxii+json;version=2.1"


def _bodies(db: Session) -> None:
    for code in ORGS:
        if db.get(Body, f"{code}-SEC") is None:
            db.add(
                Body(code=f"{code}-SEC", organisation_code=code, name_en=code, kind="secretariat")
            )
    db.flush()


def _token(db: Session, reader: tuple[str, str]) -> str:
    kind, who = reader
    role, state, body = {
        "state": (Role.liaison, who, None),
        "org": (Role.secretariat, None, f"{who}-SEC"),
        "node": (Role.node, who, None),
    }[kind]
    username = f"reader-{uuid.uuid4().hex[:12]}"
    console = Actor.console("t")
    auth_service.create_principal(
        db,
        console,
        PrincipalCreate(username=username, display_name="r", role=role, state=state, body=body),
    )
    return auth_service.issue_token(
        db, console, TokenCreate(name="t"), for_username=username
    ).secret


def _timestamp(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    world=st.lists(periods, max_size=10),
    group_members=groups,
    stored=st.lists(objects, min_size=1, max_size=8),
    reader=readers,
)
def test_no_route_serves_or_counts_what_the_reader_may_not_see(
    db: Session,
    client: TestClient,
    world: list[Period],
    group_members: list[list[str]],
    stored: list[Obj],
    reader: tuple[str, str],
) -> None:
    # The routes read on the day of the request.
    on = date.today()
    _organisations(db)
    _bodies(db)
    savepoint = db.begin_nested()
    try:
        built = populate(db, world, group_members, stored, reader, on)
        token = _token(db, reader)
        db.flush()
        headers = {"Accept": TAXII, "Authorization": f"Bearer {token}"}
        base = f"/taxii2/node/collections/{built.collection_id}/"
        row_of = {
            (stix_id, _timestamp(modified)): row_id
            for stix_id, versions in built.versions_of.items()
            for modified, row_id in versions
        }

        def pages(path: str, params: dict[str, str]) -> list[dict[str, Any]]:
            served: list[dict[str, Any]] = []
            query = {**params, "limit": "3"}
            while True:
                answer = client.get(base + path, params=query, headers=headers)
                assert answer.status_code == 200, answer.text
                body = answer.json()
                served += body.get("objects", [])
                if not body.get("more"):
                    return served
                query = {**params, "limit": "3", "next": body["next"]}

        # The manifest names exactly the visible versions; the objects route counts as many.
        manifest = pages("manifest/", {"match[version]": "all"})
        assert sorted(row_of.get((m["id"], m["version"]), -1) for m in manifest) == sorted(
            built.expected
        )
        assert len(pages("objects/", {"match[version]": "all"})) == len(built.expected)

        for ident in range(4):
            stix_id = f"indicator--00000000-0000-4000-8000-{ident:012d}"
            versions = client.get(f"{base}objects/{stix_id}/versions/", headers=headers)
            one = client.get(f"{base}objects/{stix_id}/", headers=headers)
            linked = client.get(
                f"/api/v1/sharing/objects/{stix_id}/correlations",
                headers={"Authorization": f"Bearer {token}"},
            )
            if stix_id in built.versions_of:
                assert versions.status_code == 200
                assert sorted(versions.json()["versions"]) == sorted(
                    _timestamp(m) for m, _i in built.versions_of[stix_id]
                )
                assert one.status_code == 200 and len(one.json()["objects"]) == 1
                assert linked.status_code == 200
                assert {c["stix_id"] for c in linked.json()} <= set(built.versions_of)
            else:
                # Invisible and missing are the same answer, byte for byte.
                missing = f"indicator--00000000-0000-4000-8000-{99:012d}"
                absent = client.get(f"{base}objects/{missing}/", headers=headers)
                assert (versions.status_code, one.status_code, linked.status_code) == (
                    404,
                    404,
                    404,
                )
                assert one.text.replace(stix_id, missing) == absent.text
    finally:
        savepoint.rollback()
        db.expunge_all()
