"""Federation between two live nodes: a CSTO node on SQLite and an SCO node (on PostgreSQL too
when it is configured), each its own uvicorn process, linked over loopback with the CLI.

The SCO node links to the CSTO node's exchange collection, pulling and pushing. What crosses
must be exactly what each side released to linked nodes, received objects must carry their
origin and never travel on, and a second sync must change nothing.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from indivisible.auth import service as auth_service
from indivisible.auth import signing
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate, TokenCreate
from indivisible.cli import app as cli
from indivisible.db import make_engine, make_session_factory, unit_of_work
from indivisible.migrate import upgrade
from indivisible.registry import loader
from indivisible.sharing import federation, service, signatures
from indivisible.sharing.models import FederationLink, StixObject
from indivisible.sharing.schemas import CollectionCreate, Distribution, Grant, Grantee, Release
from tests.conftest import BACKENDS, POSTGRES_ENV, _drop_postgres_database, _postgres_database
from tests.live import serving

TAXII = "application/taxii+json;version=2.1"
GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
RED = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"


def indicator(name: str, marking: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, name)}",
        "created": "2026-01-10T08:00:00.000Z",
        "modified": "2026-01-10T08:00:00.000Z",
        "name": name,
        "pattern": f"[domain-name:value = '{name}.example']",
        "pattern_type": "stix",
        "valid_from": "2026-01-10T08:00:00Z",
        "object_marking_refs": [marking],
    }


@dataclass
class Node:
    url: str
    engine: Engine
    collection: str
    # username -> API token
    tokens: dict[str, str]

    def submit(self, liaison: str, state: str, obj: dict[str, Any], release: Release) -> None:
        actor = Actor(label=liaison, role=Role.liaison, state_code=state)
        with unit_of_work(make_session_factory(self.engine)) as session:
            collection = service.collections_in(session, "node")[0]
            result = service.submit(session, actor, collection, [obj], release)
            assert result.successes and not result.failures, result

    def stored(self) -> dict[str, StixObject]:
        """Every stored version by name, read straight from the node's database."""
        with make_session_factory(self.engine)() as session:
            rows = session.scalars(select(StixObject)).all()
            session.expunge_all()
        return {json.loads(row.body)["name"]: row for row in rows}


def build(
    url: str, collection_title: str, accounts: dict[str, tuple[Role, str | None, str | None]]
) -> Node:
    engine = make_engine(url)
    upgrade(engine)
    console = Actor.console("federation-test")
    tokens: dict[str, str] = {}
    with unit_of_work(make_session_factory(engine)) as session:
        loader.load(session, console)
        for username, (role, state, body) in accounts.items():
            auth_service.create_principal(
                session,
                console,
                PrincipalCreate(
                    username=username, display_name=username, role=role, state=state, body=body
                ),
            )
            issued = auth_service.issue_token(
                session, console, TokenCreate(name="link"), for_username=username
            )
            tokens[username] = issued.secret
        collection = service.create_collection(
            session,
            console,
            CollectionCreate(
                title=collection_title,
                release=Release(distribution=Distribution.node),
                grants=[Grant(grantee=Grantee.everyone, can_read=True, can_write=True)],
            ),
        )
        collection_id = collection.id
    return Node(url, engine, collection_id, tokens)


@pytest.fixture(params=BACKENDS)
def nodes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Node, Node, str, str]]:
    """(CSTO node, SCO node, CSTO base URL, SCO base URL), both serving."""
    csto = build(
        f"sqlite:///{tmp_path / 'csto.db'}",
        "CSTO exchange",
        {
            "kaz-liaison": (Role.liaison, "KAZ", None),
            # The SCO node's account here: what it reads and posts is the link's traffic.
            "sco": (Role.node, None, "SCO-RATS"),
        },
    )
    admin = None
    if request.param == "postgresql":
        sco_url, admin = _postgres_database(os.environ[POSTGRES_ENV])
    else:
        sco_url = f"sqlite:///{tmp_path / 'sco.db'}"
    sco = build(
        sco_url,
        "Received from the CSTO",
        {"tjk-liaison": (Role.liaison, "TJK", None), "tjk-analyst": (Role.analyst, "TJK", None)},
    )
    try:
        with serving(csto.url, tmp_path) as csto_base, serving(sco.url, tmp_path) as sco_base:
            yield csto, sco, csto_base, sco_base
    finally:
        csto.engine.dispose()
        sco.engine.dispose()
        if admin is not None:
            _drop_postgres_database(admin, sco_url)


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def sync(node: Node) -> dict[str, Any]:
    result = run("sync", "--json", "--database-url", node.url)
    assert result.exit_code == 0, result.output
    reports: list[dict[str, Any]] = json.loads(result.stdout)
    return reports[0]


def test_two_nodes_exchange_exactly_what_their_releases_allow(
    nodes: tuple[Node, Node, str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    csto, sco, csto_base, _sco_base = nodes
    node_release = Release(distribution=Distribution.node, federate=True)
    # On the CSTO node: what may cross, and what may not for each reason there is.
    csto.submit("kaz", "KAZ", indicator("green-federated", GREEN), node_release)
    csto.submit(
        "kaz",
        "KAZ",
        indicator("amber-to-named-states", AMBER),
        Release(distribution=Distribution.states, states=["KAZ", "KGZ"], federate=True),
    )
    csto.submit(
        "kaz",
        "KAZ",
        indicator("green-not-federated", GREEN),
        Release(distribution=Distribution.node),
    )
    csto.submit("kaz", "KAZ", indicator("amber-strict", AMBER_STRICT), node_release)
    csto.submit(
        "kaz",
        "KAZ",
        indicator("red", RED),
        Release(distribution=Distribution.states, states=["KAZ"], federate=True),
    )
    with unit_of_work(make_session_factory(csto.engine)) as session:
        collection = service.collections_in(session, "node")[0]
        # Received earlier from a third node: released as far as this node, no further.
        service.receive(session, collection, [indicator("from-the-un", GREEN)], origin="un")
    # On the SCO node: one report released to linked nodes, one kept at home.
    sco.submit("tjk", "TJK", indicator("tjk-federated", GREEN), node_release)
    sco.submit(
        "tjk", "TJK", indicator("tjk-at-home", GREEN), Release(distribution=Distribution.node)
    )

    remote = f"{csto_base}/taxii2/node/collections/{csto.collection}/"
    # The serving side enforces it too: the SCO node's account reads only the two releasable.
    served = requests.get(
        remote + "objects/",
        headers={"Accept": TAXII, "Authorization": f"Bearer {csto.tokens['sco']}"},
        timeout=30,
    ).json()
    assert {o["name"] for o in served["objects"]} == {"green-federated", "amber-to-named-states"}
    hidden = indicator("green-not-federated", GREEN)["id"]
    answer = requests.get(
        f"{remote}objects/{hidden}/",
        headers={"Accept": TAXII, "Authorization": f"Bearer {csto.tokens['sco']}"},
        timeout=30,
    )
    assert answer.status_code == 404

    added = run(
        "link", "add", "csto", "--url", remote, "--collection", sco.collection,
        "--token", csto.tokens["sco"], "--push", "--database-url", sco.url,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    # One object a page, so that the pull follows next tokens across pages.
    monkeypatch.setattr(federation, "PULL_PAGE", 1)
    # The SCO node signs its pushes with its own key, which the CSTO node does not know yet:
    # the pull goes through, the push is refused and its checkpoint stays.
    monkeypatch.setenv("INDIVISIBLE_NODE_KEY_PATH", str(tmp_path / "sco-node-key.pem"))
    refused = run("sync", "--json", "--database-url", sco.url)
    assert refused.exit_code == 1, refused.output
    report = json.loads(refused.stdout)[0]
    assert (report["pulled"], report["pushed"]) == (2, 0)
    assert "No key is registered for node account sco" in report["error"], report
    # Its operator gives the key to the CSTO node's operator, who registers it on the account.
    shown = run("link", "key", "--json", "--database-url", sco.url)
    assert shown.exit_code == 0, shown.output
    registered = run(
        "user",
        "node-key",
        "sco",
        json.loads(shown.stdout)["public_key"],
        "--database-url",
        csto.url,
    )
    assert registered.exit_code == 0, registered.output
    first = sync(sco)
    assert (first["pulled"], first["pushed"], first["failures"], first["error"]) == (0, 1, [], None)
    receipts = run("link", "receipts", "--verify", "--json", "--database-url", csto.url)
    assert receipts.exit_code == 0, receipts.output
    [receipt] = json.loads(receipts.stdout)
    assert (receipt["origin"], receipt["signed"], receipt["verified"]) == ("sco", True, True)
    assert receipt["key_id"] == json.loads(shown.stdout)["key_id"]
    assert [o["name"] for o in receipt["document"]["content"]["objects"]] == ["tjk-federated"]

    on_sco = sco.stored()
    assert set(on_sco) == {
        "green-federated",
        "amber-to-named-states",
        "tjk-federated",
        "tjk-at-home",
    }
    for name in ("green-federated", "amber-to-named-states"):
        assert on_sco[name].origin_node == "csto"
        assert on_sco[name].submitter_state is None
        # Received objects never travel on.
        assert not on_sco[name].federate
    assert on_sco["tjk-federated"].origin_node is None

    on_csto = csto.stored()
    assert on_csto["tjk-federated"].origin_node == "sco"
    assert not on_csto["tjk-federated"].federate
    assert "tjk-at-home" not in on_csto

    # A reader on the SCO node finds the received report through the SCO node's own TAXII.
    with unit_of_work(make_session_factory(sco.engine)) as session:
        analyst = Actor(label="tjk", role=Role.analyst, state_code="TJK")
        request = service.parse_page_request({}, service.OBJECT_FILTERS, "last")
        page = service.objects_page(session, analyst, "node", sco.collection, request)
        assert {json.loads(r.body)["name"] for r in page.rows} >= {"green-federated"}

    # Idempotent: nothing new on either side, nothing stored twice.
    again = sync(sco)
    assert (again["pulled"], again["pushed"], again["already"]) == (0, 0, 0)
    assert len(sco.stored()) == 4 and len(csto.stored()) == 7

    # Incremental: only what was added since the checkpoint is fetched.
    csto.submit("kaz", "KAZ", indicator("green-later", GREEN), node_release)
    csto.submit(
        "kaz", "KAZ", indicator("green-later-home", GREEN), Release(distribution=Distribution.node)
    )
    later = sync(sco)
    assert (later["pulled"], later["pushed"], later["already"]) == (1, 0, 0)
    assert "green-later" in sco.stored() and "green-later-home" not in sco.stored()


def test_a_failing_link_is_reported_and_keeps_its_checkpoint(
    nodes: tuple[Node, Node, str, str],
) -> None:
    csto, sco, csto_base, _sco_base = nodes
    csto.submit(
        "kaz",
        "KAZ",
        indicator("green-federated", GREEN),
        Release(distribution=Distribution.node, federate=True),
    )
    remote = f"{csto_base}/taxii2/node/collections/{csto.collection}/"
    added = run(
        "link", "add", "csto", "--url", remote, "--collection", sco.collection,
        "--token", "not-a-token", "--database-url", sco.url,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    failed = run("sync", "--json", "--database-url", sco.url)
    assert failed.exit_code == 1
    report = json.loads(failed.stdout)[0]
    assert "401" in report["error"] and report["pulled"] == 0
    with make_session_factory(sco.engine)() as session:
        link = session.scalars(select(FederationLink)).one()
        assert link.pulled_until is None and "401" in (link.last_error or "")
    assert sco.stored() == {}

    # Bad input to link add names the field and the rule; nothing is written.
    bad = run(
        "link", "add", "other", "--url", "ftp://nowhere", "--collection", sco.collection,
        "--token", "t", "--database-url", sco.url,
    )  # fmt: skip
    assert bad.exit_code == 2 and "url" in bad.output
    unknown = run(
        "link", "add", "other", "--url", remote, "--collection", "no-such-collection",
        "--token", "t", "--database-url", sco.url,
    )  # fmt: skip
    assert unknown.exit_code == 2 and "collection" in unknown.output
    listed = run("link", "list", "--json", "--database-url", sco.url)
    assert [row["name"] for row in json.loads(listed.stdout)] == ["csto"]
    assert "not-a-token" not in listed.stdout


def test_a_state_signature_crosses_nodes_and_the_forwarding_node_cannot_forge_one(
    nodes: tuple[Node, Node, str, str], tmp_path: Path
) -> None:
    """KAZ signs two objects on the CSTO node; that node's operator then changes one in its
    own database. The SCO node refuses both until its operator adopts KAZ's keys from the CSTO
    node's list, then pulls again: the genuine one arrives signed by KAZ, the changed one is
    refused for the change."""
    csto, sco, csto_base, _sco_base = nodes
    private = signing.load_private(signing.generate()[0])
    kaz = {"Authorization": f"Bearer {csto.tokens['kaz-liaison']}"}
    registered = requests.post(
        f"{csto_base}/api/v1/auth/keys",
        json={"public_key": signing.public_b64(private)},
        headers=kaz,
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    genuine = signatures.sign(private, "KAZ", indicator("kaz-signed", GREEN))
    changed = signatures.sign(private, "KAZ", indicator("kaz-changed", GREEN))
    sent = requests.post(
        f"{csto_base}/api/v1/sharing/objects",
        json={
            "collection": csto.collection,
            "objects": [genuine, changed],
            "release": {"distribution": "node", "federate": True},
        },
        headers=kaz,
        timeout=30,
    )
    assert sent.status_code == 200 and sent.json()["failures"] == [], sent.text
    with unit_of_work(make_session_factory(csto.engine)) as session:
        row = session.scalars(select(StixObject).where(StixObject.stix_id == changed["id"])).one()
        row.body = json.dumps({**changed, "pattern": "[domain-name:value = 'elsewhere.example']"})

    remote = f"{csto_base}/taxii2/node/collections/{csto.collection}/"
    added = run(
        "link", "add", "csto", "--url", remote, "--collection", sco.collection,
        "--token", csto.tokens["sco"], "--database-url", sco.url,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    before = run("sync", "--json", "--database-url", sco.url)
    report = json.loads(before.stdout)[0]
    assert report["pulled"] == 0, report
    assert [f["id"] for f in report["failures"]] == [genuine["id"], changed["id"]]
    assert all("of KAZ is registered on this node" in f["message"] for f in report["failures"])

    listing = requests.get(
        f"{csto_base}/api/v1/auth/keys",
        params={"state": "KAZ"},
        headers={"Authorization": f"Bearer {csto.tokens['sco']}"},
        timeout=30,
    )
    assert listing.status_code == 200, listing.text
    path = tmp_path / "csto-keys.json"
    path.write_text(listing.text)
    adopted = run("keys", "adopt", str(path), "--source", "CSTO node", "--database-url", sco.url)
    assert adopted.exit_code == 0, adopted.output
    rewound = run("link", "rewind", "csto", "--database-url", sco.url)
    assert rewound.exit_code == 0, rewound.output

    after = run("sync", "--json", "--database-url", sco.url)
    report = json.loads(after.stdout)[0]
    assert report["pulled"] == 1, report
    [refused] = report["failures"]
    assert refused["id"] == changed["id"] and "does not match the object" in refused["message"]
    on_sco = sco.stored()
    assert set(on_sco) == {"kaz-signed"}
    assert (on_sco["kaz-signed"].origin_node, on_sco["kaz-signed"].signer_state) == ("csto", "KAZ")
    assert json.loads(on_sco["kaz-signed"].body) == genuine
