"""Tree heads and proofs over HTTP: hashes for every member, entries only for their readers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from indivisible.audit import ledger, merkle
from tests.audit.test_ledger import NODE_KEY, grow
from tests.conftest import Account


def test_members_hold_the_node_to_its_log(
    client: TestClient, db: Session, accounts: dict[str, Account]
) -> None:
    observer, admin = accounts["observer"].headers, accounts["admin"].headers
    grow(db, 20, seed=11)
    ledger.seal(db, key=NODE_KEY)
    db.commit()
    old = client.get("/api/v1/audit/tree-head", headers=observer).json()
    grow(db, 9, seed=12)
    ledger.seal(db, key=NODE_KEY)
    db.commit()
    new = client.get("/api/v1/audit/tree-head", headers=observer).json()
    assert new["tree_size"] == old["tree_size"] + 9
    assert ledger.head_signature_valid(new)
    listed = client.get("/api/v1/audit/tree-heads?limit=2", headers=observer).json()
    assert [h["tree_size"] for h in listed] == [new["tree_size"], old["tree_size"]]

    proof = client.get(
        f"/api/v1/audit/proofs/consistency?first={old['tree_size']}&second={new['tree_size']}",
        headers=observer,
    )
    assert proof.status_code == 200
    assert merkle.verify_consistency(
        old["tree_size"], new["tree_size"],
        bytes.fromhex(old["root_hash"]), bytes.fromhex(new["root_hash"]),
        [bytes.fromhex(h) for h in proof.json()["path"]],
    )  # fmt: skip

    seq = new["tree_size"] - 3
    url = f"/api/v1/audit/proofs/inclusion?seq={seq}&tree_size={new['tree_size']}"
    included = client.get(url, headers=admin)
    assert included.status_code == 200
    body = included.json()
    assert body["entry"]["seq"] == seq
    assert merkle.verify_inclusion(
        bytes.fromhex(body["leaf_hash"]), seq, new["tree_size"],
        [bytes.fromhex(h) for h in body["path"]], bytes.fromhex(new["root_hash"]),
    )  # fmt: skip
    # An observer reads no change record, so the entry is not found for them, exactly as a
    # position that does not exist.
    hidden = client.get(url, headers=observer)
    absent = client.get(
        f"/api/v1/audit/proofs/inclusion?seq=2000000000&tree_size={new['tree_size']}",
        headers=observer,
    )
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["code"] == absent.json()["code"] == "unknown_entry"


def test_proofs_beyond_the_signed_head_are_refused_naming_the_field(
    client: TestClient, db: Session, accounts: dict[str, Account]
) -> None:
    grow(db, 5, seed=13)
    ledger.seal(db, key=NODE_KEY)
    db.commit()
    size = client.get("/api/v1/audit/tree-head", headers=accounts["admin"].headers).json()[
        "tree_size"
    ]
    beyond = client.get(
        f"/api/v1/audit/proofs/consistency?first=1&second={size + 1}",
        headers=accounts["admin"].headers,
    )
    assert beyond.status_code == 422
    assert beyond.json()["errors"][0]["field"] == "query.second"
    backwards = client.get(
        "/api/v1/audit/proofs/consistency?first=3&second=2", headers=accounts["admin"].headers
    )
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["field"] == "query.first"
    assert client.get("/api/v1/audit/tree-head").status_code == 401
