"""Correlation: the values two states' reports share, and who may see that they do."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor, Role
from indivisible.errors import NotFound
from indivisible.sharing import service
from indivisible.sharing.correlation import Observable, from_pattern, normalise, observables
from indivisible.sharing.models import TaxiiCollection
from indivisible.sharing.schemas import CollectionCreate, Distribution, Release
from tests.conftest import Account
from tests.sharing.stixdata import indicator, stix_id

KAZ = Actor(label="kaz", role=Role.liaison, state_code="KAZ")
KGZ = Actor(label="kgz", role=Role.liaison, state_code="KGZ")
UZB = Actor(label="uzb", role=Role.liaison, state_code="UZB")
RUS = Actor(label="rus", role=Role.analyst, state_code="RUS")


def sco(kind: str, n: int, **props: Any) -> dict[str, Any]:
    return {"type": kind, "spec_version": "2.1", "id": stix_id(kind, n), **props}


def test_values_from_patterns_and_observables() -> None:
    pattern = (
        "[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value IN ('Evil.Example.', 'b.example')]"
        " OR [file:hashes.'SHA-256' = 'AB12CD'] OR [url:value != 'http://not-this/']"
        " OR [email-addr:value LIKE '%@example.com']"
    )
    assert from_pattern(pattern) == {
        Observable("ipv4", "198.51.100.7", 3325256711, 3325256711),
        Observable("domain", "evil.example"),
        Observable("domain", "b.example"),
        Observable("hash", "sha256:ab12cd"),
    }
    assert from_pattern("[not a pattern") == set()
    assert observables(sco("ipv6-addr", 1, value="2001:DB8::1")) == {
        Observable("ipv6", "2001:db8::1")
    }
    assert observables(sco("file", 1, hashes={"MD5": "AA", "X-Custom": "zz"})) == {
        Observable("hash", "md5:aa")
    }
    assert observables(sco("email-addr", 1, value="Officer@Example.ORG")) == {
        Observable("email", "officer@example.org")
    }
    network = normalise("ipv4", "198.51.100.0/24")
    assert network is not None and (network.low, network.high) == (3325256704, 3325256959)
    assert normalise("ipv4", "2001:db8::1") is None
    assert normalise("url", "x" * 2000) is None


@pytest.fixture
def node_collection(db: Session) -> TaxiiCollection:
    return service.create_collection(
        db,
        Actor.console("t"),
        CollectionCreate(title="shared", release=Release(distribution=Distribution.node)),
    )


def test_also_reported_by_shows_other_states_visible_reports(
    db: Session, node_collection: TaxiiCollection
) -> None:
    kaz_report = indicator(1, value="198.51.100.7")
    service.submit(db, KAZ, node_collection, [kaz_report])
    # KGZ reports the network around it; UZB the same address, but only to itself.
    service.submit(db, KGZ, node_collection, [sco("ipv4-addr", 1, value="198.51.100.0/24")])
    service.submit(
        db,
        UZB,
        node_collection,
        [indicator(2, value="198.51.100.7")],
        Release(distribution=Distribution.submitter),
    )
    # A report by KAZ itself is not "also reported by" someone else.
    service.submit(db, KAZ, node_collection, [indicator(3, value="198.51.100.7")])
    seen_by_rus = service.correlations(db, RUS, kaz_report["id"])
    assert [(c.submitter_state, c.stix_id, c.their_value) for c in seen_by_rus] == [
        ("KGZ", stix_id("ipv4-addr", 1), "198.51.100.0/24")
    ]
    seen_by_uzb = service.correlations(db, UZB, kaz_report["id"])
    assert {c.submitter_state for c in seen_by_uzb} == {"KGZ", "UZB"}
    with pytest.raises(NotFound):
        service.correlations(db, RUS, indicator(2)["id"])


def test_correlations_over_the_api(
    client: TestClient, accounts: dict[str, Account], db: Session, node_collection: TaxiiCollection
) -> None:
    service.submit(db, KGZ, node_collection, [indicator(5, value="203.0.113.9")])
    service.submit(db, UZB, node_collection, [sco("ipv4-addr", 5, value="203.0.113.9")])
    db.commit()
    answer = client.get(
        f"/api/v1/sharing/objects/{indicator(5)['id']}/correlations",
        headers=accounts["analyst"].headers,
    )
    assert answer.status_code == 200
    assert [(c["submitter_state"], c["kind"], c["value"]) for c in answer.json()] == [
        ("UZB", "ipv4", "203.0.113.9")
    ]
    missing = client.get(
        "/api/v1/sharing/objects/indicator--00000000-0000-4000-8000-000000000000/correlations",
        headers=accounts["analyst"].headers,
    )
    assert missing.status_code == 404
