"""Import and export: bundle files, medallion data files, and bundles of what a reader may see,
through the services and through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import stix2
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from indivisible.auth import service as auth_service
from indivisible.auth import signing
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate
from indivisible.cli import app
from indivisible.config import get_settings
from indivisible.db import make_engine, make_session_factory, unit_of_work
from indivisible.errors import InvalidInput, NotFound, PermissionDenied
from indivisible.migrate import upgrade
from indivisible.registry import loader
from indivisible.sharing import service, signatures, transfer
from indivisible.sharing.models import StixObject, TaxiiCollection, TaxiiGrant
from indivisible.sharing.schemas import CollectionCreate, Distribution, Grant, Grantee, Release
from tests.conftest import Account
from tests.sharing import stixdata

MEDALLION = Path(__file__).parent / "fixtures" / "medallion_data.json"
CONSOLE = Actor.console("test-transfer")
NODE = Release(distribution=Distribution.node)
SUBMITTER = Release(distribution=Distribution.submitter)
# Ids in the fixture.
BORDER = "048cd30e-004f-4b39-8d4f-994b1a0e7d1c"
C2 = "indicator--1d0f3c6a-52b4-4d47-8a0e-6c2f9e1b7a35"
OLD_FORMAT = "malware--2f8d6b3e-9a41-4c07-b5e2-6d1f0a7c3e94"
ADDRESS = "ipv4-addr--b6f1a0d3-8c2e-5f47-9a16-4e3d7c2b9f05"


def _collection(db: Session, title: str, release: Release = NODE, **extra: Any) -> TaxiiCollection:
    return service.create_collection(
        db, CONSOLE, CollectionCreate(title=title, release=release, **extra)
    )


def _liaison(db: Session, username: str, state: str) -> Actor:
    auth_service.create_principal(
        db,
        CONSOLE,
        PrincipalCreate(username=username, display_name=username, role=Role.liaison, state=state),
    )
    return transfer.actor_for_username(db, username)


def _broken() -> dict[str, Any]:
    obj = stixdata.indicator(90)
    del obj["pattern"]
    return obj


def _medallion() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(MEDALLION.read_text())
    return data


# --- Bundles in ---------------------------------------------------------------------------------


def test_a_bundle_import_stores_the_valid_refuses_the_invalid_and_a_rerun_changes_nothing(
    db: Session, accounts: dict[str, Account]
) -> None:
    kaz = transfer.actor_for_username(db, accounts["liaison"].username)
    target = _collection(db, "Imported")
    objects = [
        stixdata.indicator(1),
        stixdata.indicator(1, day=2),
        stixdata.malware(1),
        _broken(),
        "not an object",
        stixdata.relationship(1, stixdata.stix_id("indicator", 1), stixdata.stix_id("malware", 1)),
    ]
    done: list[int] = []
    result = transfer.import_bundle(db, kaz, target, objects, chunk=2, progress=done.append)
    assert done == [2, 2, 2]
    assert transfer.counts(result) == transfer.Counts(stored=4, already_stored=0, refused=2)
    assert [f.id for f in result.failures] == [stixdata.stix_id("indicator", 90), None]
    assert "'pattern' is a required property" in (result.failures[0].message or "")
    assert "must be a JSON object" in (result.failures[1].message or "")
    rows = db.scalars(select(StixObject).where(StixObject.collection_id == target.id)).all()
    assert {(r.stix_id, r.submitter_state) for r in rows} == {
        (stixdata.stix_id("indicator", 1), "KAZ"),
        (stixdata.stix_id("malware", 1), "KAZ"),
        (stixdata.stix_id("relationship", 1), "KAZ"),
    }
    assert len(rows) == 4

    again = transfer.import_bundle(db, kaz, target, objects, chunk=500)
    assert transfer.counts(again) == transfer.Counts(stored=0, already_stored=4, refused=2)
    assert (
        len(db.scalars(select(StixObject).where(StixObject.collection_id == target.id)).all()) == 4
    )


def test_who_may_import_and_into_which_collection(
    db: Session, accounts: dict[str, Account]
) -> None:
    kaz = transfer.actor_for_username(db, accounts["liaison"].username)
    analyst = transfer.actor_for_username(db, accounts["analyst"].username)
    target = _collection(db, "Imported")
    # Even with nothing to import, the account and the release are checked.
    with pytest.raises(PermissionDenied):
        transfer.import_bundle(db, analyst, target, [])
    with pytest.raises(InvalidInput) as err:
        transfer.import_bundle(
            db, kaz, target, [], Release(distribution=Distribution.group, group="nobody")
        )
    assert err.value.field == "group"
    assert transfer.collection_for_import(db, kaz, target.id) is target
    read_only = _collection(
        db, "Read only", grants=[Grant(grantee=Grantee.everyone, can_read=True, can_write=False)]
    )
    with pytest.raises(PermissionDenied):
        transfer.collection_for_import(db, kaz, read_only.id)
    with pytest.raises(PermissionDenied):
        transfer.collection_for_import(db, analyst, target.id)
    with pytest.raises(NotFound):
        transfer.collection_for_import(db, kaz, "no-such-collection")
    with pytest.raises(NotFound):
        transfer.actor_for_username(db, "nobody-here")
    auth_service.set_active(db, CONSOLE, accounts["liaison"].username, False)
    with pytest.raises(PermissionDenied):
        transfer.actor_for_username(db, accounts["liaison"].username)


def test_bundles_and_envelopes_are_read_and_anything_else_is_refused_naming_the_field(
    tmp_path: Path,
) -> None:
    one = stixdata.indicator(1)
    bundle = {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"}
    assert transfer.bundle_objects({**bundle, "objects": [one]}) == [one]
    assert transfer.bundle_objects(stixdata.envelope(one)) == [one]
    # An empty bundle (as an empty export is) and an empty envelope hold nothing.
    assert transfer.bundle_objects(bundle) == []
    assert transfer.bundle_objects({"more": False}) == []
    for data, where in [
        (one, "type"),
        ({"type": "bundle", "objects": {"id": "x"}}, "objects"),
        ({"objects": "none"}, "objects"),
        ({"something": "else"}, "objects"),
        ([one], "objects"),
    ]:
        with pytest.raises(InvalidInput) as err:
            transfer.bundle_objects(data)
        assert err.value.field == where, data
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "bundle", "objects": [')
    with pytest.raises(InvalidInput) as err:
        transfer.read_json(broken)
    assert err.value.field == "file" and "not valid JSON" in err.value.text()
    good = tmp_path / "bundle.json"
    good.write_text(json.dumps({**bundle, "objects": [one]}), encoding="utf-8")
    assert transfer.bundle_objects(transfer.read_json(good)) == [one]


# --- Medallion ----------------------------------------------------------------------------------


def test_a_medallion_data_file_becomes_collections_with_their_ids_titles_and_objects(
    db: Session, accounts: dict[str, Account]
) -> None:
    kaz = transfer.actor_for_username(db, accounts["liaison"].username)
    done: list[int] = []
    imported = transfer.import_medallion(
        db, kaz, _medallion(), creator=CONSOLE, release=NODE, chunk=4, progress=done.append
    )
    assert sum(done) == 7
    border, legacy = imported
    assert (border.api_root, border.source_id, border.collection_id) == (
        "border-watch",
        BORDER,
        BORDER,
    )
    assert border.id_kept and border.alias_kept
    collection = db.get(TaxiiCollection, BORDER)
    assert collection is not None
    assert (collection.title, collection.description, collection.alias) == (
        "Border incidents",
        "Indicators and malware reported at the crossings",
        "border-incidents",
    )
    assert (collection.distribution, service.root_of(collection)) == ("node", "node")
    # "legacy-feed" is no UUID: a new id, reported; medallion's can_write: false is kept.
    assert not legacy.id_kept and legacy.collection_id != "legacy-feed"
    grants = db.scalars(select(TaxiiGrant).where(TaxiiGrant.collection_id.in_([BORDER]))).all()
    assert [(g.grantee, g.can_read, g.can_write) for g in grants] == [("everyone", True, True)]
    legacy_grant = db.scalars(
        select(TaxiiGrant).where(TaxiiGrant.collection_id == legacy.collection_id)
    ).one()
    assert (legacy_grant.can_read, legacy_grant.can_write) == (True, False)

    assert transfer.counts(border.result) == transfer.Counts(5, 0, 1)
    assert [f.id for f in border.result.failures] == [OLD_FORMAT]
    assert "'spec_version' is a required property" in (border.result.failures[0].message or "")
    assert transfer.counts(legacy.result) == transfer.Counts(1, 0, 0)
    rows = db.scalars(select(StixObject).where(StixObject.collection_id == BORDER)).all()
    assert sorted(r.stix_id for r in rows).count(C2) == 2
    address = next(r for r in rows if r.stix_id == ADDRESS)
    # medallion's bookkeeping is not STIX and is not kept; date_added is the node's own.
    assert "_date_added" not in json.loads(address.body)
    assert service.as_utc(address.date_added).year > 2024
    assert {r.submitter_state for r in rows} == {"KAZ"}

    # A second run cannot take the same ids or alias again: new ones, reported.
    again = transfer.import_medallion(db, kaz, _medallion(), creator=CONSOLE, release=NODE)
    assert not again[0].id_kept and again[0].collection_id != BORDER
    assert again[0].alias == "border-incidents" and not again[0].alias_kept
    assert transfer.counts(again[0].result) == transfer.Counts(5, 0, 1)


def test_the_later_medallion_format_with_meta_and_collections_by_id(
    db: Session, accounts: dict[str, Account]
) -> None:
    data = _medallion()
    for api in data.values():
        if isinstance(api.get("collections"), list):
            for entry in api["collections"]:
                entry.pop("manifest", None)
                for obj in entry["objects"]:
                    added = obj.pop("_date_added", "2024-03-01T10:00:00.000000Z")
                    obj["__meta"] = {"date_added": added, "media_type": "application/stix+json"}
            api["collections"] = {c["id"]: c for c in api["collections"]}
    kaz = transfer.actor_for_username(db, accounts["liaison"].username)
    imported = transfer.import_medallion(
        db,
        kaz,
        data,
        creator=CONSOLE,
        release=Release(distribution=Distribution.organisation, organisation="SCO"),
        organisation="SCO",
    )
    assert [c.source_id for c in imported] == [BORDER, "legacy-feed"]
    collection = db.get(TaxiiCollection, BORDER)
    assert collection is not None and service.root_of(collection) == "sco"
    assert collection.distribution_organisation == "SCO"
    rows = db.scalars(select(StixObject).where(StixObject.collection_id == BORDER)).all()
    assert len(rows) == 5
    assert all("__meta" not in json.loads(r.body) for r in rows)


def test_medallion_import_needs_a_liaison_and_the_file_format(
    db: Session, accounts: dict[str, Account]
) -> None:
    kaz = transfer.actor_for_username(db, accounts["liaison"].username)
    analyst = transfer.actor_for_username(db, accounts["analyst"].username)
    with pytest.raises(PermissionDenied):
        transfer.import_medallion(db, analyst, _medallion(), creator=CONSOLE, release=NODE)
    assert db.get(TaxiiCollection, BORDER) is None
    # Creating collections is the creator's right: a liaison may not.
    with pytest.raises(PermissionDenied):
        transfer.import_medallion(db, kaz, _medallion(), creator=kaz, release=NODE)
    broken = _medallion()
    del broken["border-watch"]["collections"][1]["title"]
    bad_objects = _medallion()
    bad_objects["border-watch"]["collections"][0]["objects"] = {"not": "a list"}
    for data, where in [
        ([], "file"),
        ({"type": "bundle", "objects": []}, "type"),
        ({"api1": {"information": {}, "collections": "none"}}, "api1.collections"),
        ({"api1": {"collections": [3]}}, "api1.collections[0]"),
        (broken, "border-watch.collections[1].title"),
        (bad_objects, "border-watch.collections[0].objects"),
    ]:
        with pytest.raises(InvalidInput) as err:
            transfer.import_medallion(db, kaz, data, creator=CONSOLE, release=NODE)
        assert err.value.field == where
        assert where in err.value.text()


# --- Bundles out --------------------------------------------------------------------------------


def test_an_export_holds_exactly_what_the_reader_may_see_and_parses_as_stix(
    db: Session, accounts: dict[str, Account]
) -> None:
    kaz = transfer.actor_for_username(db, accounts["liaison"].username)
    kgz = _liaison(db, "t-kgz-liaison", "KGZ")
    shared = _collection(db, "Shared")
    kaz_only = _collection(
        db, "KAZ only", grants=[Grant(grantee=Grantee.state, state="KAZ", can_write=True)]
    )
    released = [
        stixdata.indicator(1),
        stixdata.indicator(1, day=3),
        stixdata.malware(1),
        stixdata.identity(1),
    ]
    transfer.import_bundle(db, kaz, shared, released)
    # Released to the submitter only: nobody else may see it, in the same collection.
    secret = stixdata.indicator(2, markings=[stixdata.TLP_GREEN])
    transfer.import_bundle(db, kaz, shared, [secret], SUBMITTER)
    transfer.import_bundle(db, kaz, kaz_only, [stixdata.malware(2)])
    transfer.import_bundle(db, kgz, shared, [stixdata.indicator(3), stixdata.indicator(1, day=2)])

    def ids(bundle: dict[str, Any]) -> list[tuple[str, str | None]]:
        return sorted((o["id"], o.get("modified")) for o in bundle.get("objects", []))

    theirs = transfer.export_bundle(db, kgz, shared.id)
    assert ids(theirs) == sorted(
        [
            (stixdata.stix_id("indicator", 1), stixdata.timestamp(3)),
            (stixdata.stix_id("malware", 1), stixdata.timestamp(1)),
            (stixdata.stix_id("identity", 1), stixdata.timestamp(1)),
            (stixdata.stix_id("indicator", 3), stixdata.timestamp(1)),
        ]
    )
    assert stixdata.stix_id("indicator", 2) not in {o["id"] for o in theirs["objects"]}
    parsed = stix2.parse(theirs, allow_custom=True)
    assert parsed.type == "bundle" and len(parsed.objects) == 4
    assert theirs["id"].startswith("bundle--")

    every = transfer.export_bundle(db, kgz, shared.id, all_versions=True)
    assert [i for i in ids(every) if i[0] == stixdata.stix_id("indicator", 1)] == [
        (stixdata.stix_id("indicator", 1), stixdata.timestamp(d)) for d in (1, 2, 3)
    ]
    stix2.parse(every, allow_custom=True)

    mine = transfer.export_bundle(db, kaz, shared.id)
    assert (stixdata.stix_id("indicator", 2), stixdata.timestamp(1)) in ids(mine)
    # Across the node: every collection the reader may read, nothing from one they may not.
    node_kgz = {o["id"] for o in transfer.export_bundle(db, kgz)["objects"]}
    assert stixdata.stix_id("malware", 2) not in node_kgz
    assert stixdata.stix_id("indicator", 2) not in node_kgz
    assert {i for i, _m in ids(theirs)} <= node_kgz
    node_kaz = {o["id"] for o in transfer.export_bundle(db, kaz)["objects"]}
    assert {stixdata.stix_id("malware", 2), stixdata.stix_id("indicator", 2)} <= node_kaz
    with pytest.raises(NotFound):
        transfer.export_bundle(db, kgz, kaz_only.id)
    # An exported bundle imports again as it is: every object already stored.
    again = transfer.import_bundle(db, kaz, shared, transfer.bundle_objects(every))
    assert transfer.counts(again).stored == 0 and not again.failures


def test_an_admin_sees_nothing_and_an_empty_export_is_still_a_bundle(
    db: Session, accounts: dict[str, Account]
) -> None:
    kaz = transfer.actor_for_username(db, accounts["liaison"].username)
    shared = _collection(db, "Shared")
    transfer.import_bundle(db, kaz, shared, [stixdata.indicator(1)])
    admin = transfer.actor_for_username(db, accounts["admin"].username)
    bundle = transfer.export_bundle(db, admin)
    assert set(bundle) == {"type", "id"}
    assert transfer.bundle_objects(bundle) == []


# --- The CLI ------------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A node of its own on a temporary SQLite file: the states and three accounts."""
    url = f"sqlite:///{tmp_path_factory.mktemp('transfer') / 'node.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        # The states are all these commands need; no organisation files.
        loader.load(session, CONSOLE, [])
        for username, role, state in [
            ("kaz-liaison", Role.liaison, "KAZ"),
            ("kgz-liaison", Role.liaison, "KGZ"),
            ("rus-analyst", Role.analyst, "RUS"),
        ]:
            auth_service.create_principal(
                session,
                CONSOLE,
                PrincipalCreate(username=username, display_name=username, role=role, state=state),
            )
    engine.dispose()
    return url


def cli(url: str, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, [*args, "--database-url", url])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.stdout


def test_cli_import_reports_refusals_and_a_rerun_reports_already_stored(
    node: str, tmp_path: Path
) -> None:
    collection = json.loads(
        cli(node, "sharing", "collection", "add", "CLI", "--distribution", "node", "--json")
    )["id"]
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps({"type": "bundle", "objects": [stixdata.indicator(1), stixdata.malware(1)]})
    )
    out = cli(
        node, "sharing", "import", str(good), "--collection", collection, "--as", "kaz-liaison"
    )
    assert "stored" in out and "refused" in out
    report = json.loads(
        cli(
            node,
            "sharing",
            "import",
            str(good),
            "--collection",
            collection,
            "--as",
            "kaz-liaison",
            "--json",
        )
    )
    assert report == {
        "collection": collection,
        "stored": 0,
        "already_stored": 2,
        "refused": 0,
        "refusals": [],
    }
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps(stixdata.envelope(stixdata.indicator(2), _broken())))
    out = cli(
        node,
        "sharing",
        "import",
        str(mixed),
        "--collection",
        collection,
        "--as",
        "kaz-liaison",
        code=1,
    )
    assert "Refused (1 of 1)" in out and "pattern" in out
    # A refusal quotes the object, and what it quotes is not Rich markup.
    hostile = stixdata.malware(5)
    hostile["name"] = "[/oops]"
    del hostile["is_family"]
    quoted = tmp_path / "hostile.json"
    quoted.write_text(json.dumps(stixdata.envelope(hostile)))
    out = cli(
        node,
        "sharing",
        "import",
        str(quoted),
        "--collection",
        collection,
        "--as",
        "kaz-liaison",
        code=1,
    )
    assert "[/oops]" in out
    report = json.loads(
        cli(
            node,
            "sharing",
            "import",
            str(mixed),
            "--collection",
            collection,
            "--as",
            "kaz-liaison",
            "--distribution",
            "submitter",
            "--json",
            code=1,
        )
    )
    assert (report["already_stored"], report["refused"]) == (1, 1)
    assert "'pattern' is a required property" in report["refusals"][0]["message"]
    # Errors of the command itself: exit 2 and a message, no traceback.
    for args, message in [
        (["--as", "rus-analyst"], "may not add objects"),
        (["--as", "nobody"], "No principal nobody"),
    ]:
        result = runner.invoke(
            app,
            [
                "sharing",
                "import",
                str(good),
                "--collection",
                collection,
                *args,
                "--database-url",
                node,
            ],
        )
        assert result.exit_code == 2 and message in result.output, result.output
    result = runner.invoke(
        app,
        [
            "sharing",
            "import",
            str(good),
            "--collection",
            collection,
            "--as",
            "kaz-liaison",
            "--state",
            "KGZ",
            "--database-url",
            node,
        ],
    )
    assert result.exit_code == 2 and "--distribution" in result.output
    not_json = tmp_path / "not.json"
    not_json.write_text("[")
    result = runner.invoke(
        app,
        [
            "sharing",
            "import",
            str(not_json),
            "--collection",
            collection,
            "--as",
            "kaz-liaison",
            "--database-url",
            node,
        ],
    )
    assert result.exit_code == 2 and "not valid JSON" in result.output


def test_cli_medallion_import_then_export(node: str, tmp_path: Path) -> None:
    report = json.loads(
        cli(
            node,
            "sharing",
            "import-medallion",
            str(MEDALLION),
            "--as",
            "kgz-liaison",
            "--json",
            code=1,
        )
    )
    rows = {row["medallion_id"]: row for row in report["collections"]}
    assert rows[BORDER]["id"] == BORDER and rows[BORDER]["id_kept"]
    assert (rows[BORDER]["stored"], rows[BORDER]["refused"]) == (5, 1)
    assert not rows["legacy-feed"]["id_kept"]
    assert [r["id"] for r in report["refusals"]] == [OLD_FORMAT]
    listed = json.loads(cli(node, "sharing", "collection", "list", "--json"))
    assert BORDER in {c["id"] for c in listed}

    path = tmp_path / "export.json"
    cli(node, "sharing", "export", "--as", "kaz-liaison", "--collection", BORDER, "-o", str(path))
    bundle = json.loads(path.read_text())
    stix2.parse(bundle, allow_custom=True)
    assert sorted(o["id"] for o in bundle["objects"]).count(C2) == 1
    every = json.loads(
        cli(
            node,
            "sharing",
            "export",
            "--as",
            "kaz-liaison",
            "--collection",
            BORDER,
            "--all-versions",
        )
    )
    assert sorted(o["id"] for o in every["objects"]).count(C2) == 2
    assert len(every["objects"]) == 5
    # The table: each collection, and the refusal with its reason.
    out = cli(node, "sharing", "import-medallion", str(MEDALLION), "--as", "kgz-liaison", code=1)
    assert "new id" in out and "spec_version" in out
    result = runner.invoke(
        app,
        [
            "sharing",
            "import-medallion",
            str(MEDALLION),
            "--as",
            "rus-analyst",
            "--database-url",
            node,
        ],
    )
    assert result.exit_code == 2 and "liaison" in result.output
    result = runner.invoke(app, ["sharing", "export", "--as", "nobody", "--database-url", node])
    assert result.exit_code == 2


def test_cli_import_and_key_adoption_under_the_signed_objects_rule(
    node: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With INDIVISIBLE_SIGNED_OBJECTS_REQUIRED on, an import refuses what its state did not
    sign; a key adopted from another node's list makes that state's objects verify."""
    collection = json.loads(
        cli(node, "sharing", "collection", "add", "Signed", "--distribution", "node", "--json")
    )["id"]
    private = signing.load_private(signing.generate()[0])
    public = signing.public_b64(private)
    listing = tmp_path / "keys.json"
    key_id = signing.key_id(signing.public_bytes(public))
    listing.write_text(
        json.dumps(
            [
                {
                    "id": key_id,
                    "state": "UZB",
                    "public_key": public,
                    "valid_from": "2026-01-01T00:00:00+00:00",
                    "valid_to": None,
                    "revoked_at": None,
                    "revocation_reason": None,
                }
            ]
        )
    )
    adopted = cli(node, "keys", "adopt", str(listing), "--source", "a test list")
    assert f"{key_id}\tUZB\tin use" in adopted
    signed = signatures.sign(private, "UZB", stixdata.indicator(70))
    bundle = tmp_path / "signed.json"
    bundle.write_text(json.dumps(stixdata.envelope(signed, stixdata.indicator(71))))
    monkeypatch.setenv("INDIVISIBLE_SIGNED_OBJECTS_REQUIRED", "true")
    get_settings.cache_clear()
    try:
        out = cli(
            node, "sharing", "import", str(bundle), "--collection", collection,
            "--as", "kaz-liaison", "--json", code=1,
        )  # fmt: skip
    finally:
        monkeypatch.delenv("INDIVISIBLE_SIGNED_OBJECTS_REQUIRED")
        get_settings.cache_clear()
    report = json.loads(out)
    assert (report["stored"], report["refused"]) == (1, 1)
    [refusal] = report["refusals"]
    assert refusal["id"] == stixdata.indicator(71)["id"]
    assert "accepts only objects signed by their state" in refusal["message"]
