"""TAXII 2.1 conformance: the OASIS ``taxii2-client`` drives a live node through every endpoint
and filter, and every object that comes back is checked with ``stix2-validator`` and
``stix2.parse``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import stix2
from stix2validator import ValidationOptions, validate_instance
from taxii2client.common import TokenAuth
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from indivisible.auth import signing, submissions
from indivisible.sharing import signatures
from tests.sharing.conftest import TaxiiNode
from tests.sharing.stixdata import (
    TLP_GREEN,
    envelope,
    identity,
    indicator,
    malware,
    relationship,
    stix_id,
)

VALIDATION = ValidationOptions(version="2.1", strict=False)


def check_stix(objects: list[dict[str, Any]]) -> None:
    """Every object served is valid STIX 2.1 to both OASIS libraries."""
    for obj in objects:
        result = validate_instance(obj, VALIDATION)
        assert result.is_valid, [str(e) for e in result.errors]
        parsed = stix2.parse(obj, allow_custom=False)
        assert parsed.id == obj["id"]


def everything(read: Any, per_request: int, **filters: Any) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for page in as_pages(read, per_request=per_request, **filters):
        objects += page.get("objects", [])
    return objects


@pytest.fixture(scope="module")
def kaz(taxii_node: TaxiiNode) -> Iterator[Collection]:
    """KAZ's liaison on the shared collection, authenticated with HTTP Basic."""
    client = taxii_node.clients["kaz"]
    with Collection(
        taxii_node.collection("shared"), user=client.username, password=client.password
    ) as collection:
        yield collection


@pytest.fixture(scope="module")
def kgz(taxii_node: TaxiiNode) -> Iterator[Collection]:
    """KGZ's liaison on the shared collection, authenticated with a bearer token."""
    with Collection(
        taxii_node.collection("shared"), auth=TokenAuth(taxii_node.clients["kgz"].token)
    ) as collection:
        yield collection


SHARED = [
    identity(1),
    *[indicator(n, markings=[TLP_GREEN]) for n in range(1, 26)],
    *[malware(n) for n in range(1, 6)],
    relationship(1, stix_id("indicator", 1), stix_id("malware", 1)),
]
# Later versions of two objects.
UPDATES = [indicator(1, day=2), indicator(1, day=3), malware(1, day=5)]


@pytest.fixture(scope="module")
def stored(kaz: Collection) -> list[dict[str, Any]]:
    status = kaz.add_objects(envelope(*SHARED), wait_for_completion=True)
    assert (status.status, status.success_count, status.failure_count) == (
        "complete",
        len(SHARED),
        0,
    )
    status = kaz.add_objects(envelope(*UPDATES), wait_for_completion=True)
    assert status.success_count == len(UPDATES)
    return SHARED + UPDATES


def test_discovery_api_roots_and_collections(taxii_node: TaxiiNode) -> None:
    client = taxii_node.clients["kaz"]
    with Server(taxii_node.discovery, user=client.username, password=client.password) as server:
        assert server.title == "Indivisible"
        assert server.default.url == taxii_node.root()
        roots = {root.url for root in server.api_roots}
        assert roots == {taxii_node.root(), taxii_node.root("sco")}
        node_root = next(r for r in server.api_roots if r.url == taxii_node.root())
        assert node_root.versions == ["application/taxii+json;version=2.1"]
        assert node_root.max_content_length > 1_000_000
        titles = {c.title: (c.can_read, c.can_write) for c in node_root.collections}
        # KAZ sees the collections granted to everyone and the one granted to KAZ alone.
        assert titles == {
            "shared": (True, True),
            "private": (True, True),
            "kaz-only": (True, True),
            "read-only": (True, False),
        }
        # Kazakhstan is an SCO member, so the SCO root lists the SCO collection.
        sco_root = next(r for r in server.api_roots if r.url == taxii_node.root("sco"))
        assert [c.title for c in sco_root.collections] == ["sco"]
    with ApiRoot(taxii_node.root(), auth=TokenAuth(taxii_node.clients["usa"].token)) as root:
        assert "kaz-only" not in {c.title for c in root.collections}
    with ApiRoot(taxii_node.root("sco"), auth=TokenAuth(taxii_node.clients["usa"].token)) as root:
        assert root.collections == []


def test_post_reports_successes_and_failures_per_object(
    taxii_node: TaxiiNode, kaz: Collection, stored: list[dict[str, Any]]
) -> None:
    broken = indicator(90)
    del broken["pattern"]
    status = kaz.add_objects(envelope(indicator(91), broken), wait_for_completion=True)
    assert status.status == "complete"
    assert status.total_count == 2 and status.success_count == 1 and status.failure_count == 1
    assert status.successes[0]["id"] == stix_id("indicator", 91)
    assert status.failures[0]["id"] == broken["id"]
    assert "'pattern' is a required property" in status.failures[0]["message"]
    # The status resource can be fetched again by its poster, and by nobody else.
    client = taxii_node.clients["kaz"]
    with ApiRoot(taxii_node.root(), user=client.username, password=client.password) as root:
        again = root.get_status(status.id)
        assert again.success_count == 1 and again.pending_count == 0
    with (
        ApiRoot(taxii_node.root(), auth=TokenAuth(taxii_node.clients["kgz"].token)) as root,
        pytest.raises(requests.HTTPError) as missing,
    ):
        root.get_status(status.id)
    assert missing.value.response.status_code == 404


def test_paging_through_objects_and_manifest_with_as_pages(
    kgz: Collection, stored: list[dict[str, Any]]
) -> None:
    latest = {obj["id"]: obj for obj in stored}
    objects = everything(kgz.get_objects, 7)
    check_stix(objects)
    served = {o["id"]: o for o in objects if o["id"] in latest}
    assert len(served) == len(latest)
    assert len(objects) == len({o["id"] for o in objects}), "a page repeated an object"
    assert served[stix_id("indicator", 1)]["modified"] == "2024-01-03T00:00:00.000Z"
    manifest = everything(kgz.get_manifest, 5)
    by_id = {m["id"]: m for m in manifest}
    assert set(latest) <= set(by_id)
    assert by_id[stix_id("malware", 1)]["version"].startswith("2024-01-05T00:00:00")
    assert all(m["media_type"] == "application/stix+json;version=2.1" for m in manifest)
    added = [m["date_added"] for m in manifest]
    assert added == sorted(added)


def test_match_filters(kgz: Collection, stored: list[dict[str, Any]]) -> None:
    malware_only = everything(kgz.get_objects, 2, type="malware")
    assert {o["type"] for o in malware_only} == {"malware"}
    assert len(malware_only) == 5
    two = kgz.get_objects(type=["malware", "relationship"])["objects"]
    assert {o["type"] for o in two} == {"malware", "relationship"}
    one = kgz.get_objects(id=stix_id("indicator", 2))["objects"]
    assert [o["id"] for o in one] == [stix_id("indicator", 2)]
    versions = {
        v: [
            o["modified"] for o in kgz.get_objects(id=stix_id("indicator", 1), version=v)["objects"]
        ]
        for v in ("first", "last", "all", "2024-01-02T00:00:00.000Z")
    }
    assert versions == {
        "first": ["2024-01-01T00:00:00.000Z"],
        "last": ["2024-01-03T00:00:00.000Z"],
        "all": [
            "2024-01-01T00:00:00.000Z",
            "2024-01-02T00:00:00.000Z",
            "2024-01-03T00:00:00.000Z",
        ],
        "2024-01-02T00:00:00.000Z": ["2024-01-02T00:00:00.000Z"],
    }
    first_and_last = kgz.get_objects(id=stix_id("indicator", 1), version="first,last")
    assert len(first_and_last["objects"]) == 2
    assert len(everything(kgz.get_objects, 10, spec_version="2.1")) >= len(SHARED) - 2
    assert kgz.get_objects(spec_version="2.0").get("objects", []) == []


def test_added_after_pages_like_next(kgz: Collection, stored: list[dict[str, Any]]) -> None:
    manifest = everything(kgz.get_manifest, 100)
    middle = manifest[len(manifest) // 2]["date_added"]
    later = everything(kgz.get_objects, 4, added_after=middle)
    expected = [m["id"] for m in manifest if m["date_added"] > middle]
    assert [o["id"] for o in later] == expected
    # A client that pages by added_after alone, with the last date it saw, gets the same.
    seen: list[str] = []
    checkpoint = manifest[0]["date_added"]
    seen.append(manifest[0]["id"])
    while True:
        page = kgz.get_manifest(added_after=checkpoint, limit=3)
        entries = page.get("objects", [])
        if not entries:
            break
        seen += [e["id"] for e in entries]
        checkpoint = entries[-1]["date_added"]
    assert seen == [m["id"] for m in manifest]


def test_object_versions_and_delete(
    taxii_node: TaxiiNode, kaz: Collection, kgz: Collection, stored: list[dict[str, Any]]
) -> None:
    target = stix_id("indicator", 1)
    check_stix(kgz.get_object(target)["objects"])
    assert [o["modified"] for o in kgz.get_object(target)["objects"]] == [
        "2024-01-03T00:00:00.000Z"
    ]
    assert len(kgz.get_object(target, version="all")["objects"]) == 3
    listed = kgz.object_versions(target)
    assert [v[:19] for v in listed["versions"]] == [
        "2024-01-01T00:00:00",
        "2024-01-02T00:00:00",
        "2024-01-03T00:00:00",
    ]
    # Only the submitting state may delete; KGZ is refused, KAZ deletes one version.
    with pytest.raises(requests.HTTPError) as refused:
        kgz.delete_object(target, version="2024-01-02T00:00:00.000Z")
    assert refused.value.response.status_code == 403
    kaz.delete_object(target, version="2024-01-02T00:00:00.000Z")
    assert len(kgz.object_versions(target)["versions"]) == 2
    victim = stix_id("indicator", 25)
    kaz.delete_object(victim)
    with pytest.raises(requests.HTTPError) as gone:
        kgz.get_object(victim)
    assert gone.value.response.status_code == 404


def test_release_and_collection_permissions_over_taxii(taxii_node: TaxiiNode) -> None:
    kaz = taxii_node.clients["kaz"]
    own = indicator(200)
    with Collection(taxii_node.collection("private"), auth=TokenAuth(kaz.token)) as mine:
        assert mine.add_objects(envelope(own)).success_count == 1
        assert [o["id"] for o in mine.get_objects()["objects"]] == [own["id"]]
    with Collection(
        taxii_node.collection("private"), auth=TokenAuth(taxii_node.clients["kgz"].token)
    ) as theirs:
        # Released to the submitting state only: KGZ sees nothing and cannot tell it exists.
        assert theirs.get_objects().get("objects", []) == []
        assert theirs.get_manifest().get("objects", []) == []
        for read in (theirs.get_object, theirs.object_versions):
            with pytest.raises(requests.HTTPError) as hidden:
                read(own["id"])
            assert hidden.value.response.status_code == 404
    with Collection(taxii_node.collection("read-only"), auth=TokenAuth(kaz.token)) as read_only:
        assert read_only.can_write is False
    usa = taxii_node.clients["usa"]
    missing = requests.get(
        taxii_node.collection("kaz-only") + "objects/",
        headers={
            "Authorization": f"Bearer {usa.token}",
            "Accept": "application/taxii+json;version=2.1",
        },
        timeout=30,
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/taxii+json;version=2.1"
    assert missing.json()["http_status"] == "404"
    refused = requests.post(
        taxii_node.collection("read-only") + "objects/",
        json=envelope(indicator(201)),
        headers={
            "Authorization": f"Bearer {kaz.token}",
            "Accept": "application/taxii+json;version=2.1",
            "Content-Type": "application/taxii+json;version=2.1",
        },
        timeout=30,
    )
    assert refused.status_code == 403
    # An analyst reads but may not post anywhere: posting is a liaison officer's act.
    rus = taxii_node.clients["rus"]
    with Collection(taxii_node.collection("shared"), auth=TokenAuth(rus.token)) as analyst:
        assert (analyst.can_read, analyst.can_write) == (True, False)


def test_organisation_root_releases_to_its_members(taxii_node: TaxiiNode) -> None:
    kaz, kgz, usa = (taxii_node.clients[n] for n in ("kaz", "kgz", "usa"))
    with Collection(taxii_node.collection("sco", "sco"), auth=TokenAuth(kaz.token)) as sco:
        assert sco.add_objects(envelope(indicator(300))).success_count == 1
    with Collection(taxii_node.collection("sco", "sco"), auth=TokenAuth(kgz.token)) as sco:
        assert stix_id("indicator", 300) in {o["id"] for o in sco.get_objects()["objects"]}
    answer = requests.get(
        taxii_node.collection("sco", "sco") + "objects/",
        headers={"Authorization": f"Bearer {usa.token}"},
        timeout=30,
    )
    assert answer.status_code == 404


def test_a_state_signed_object_travels_intact_over_taxii(
    taxii_node: TaxiiNode, kaz: Collection, stored: list[dict[str, Any]]
) -> None:
    """taxii2-client posts objects KAZ signed; the one that holds is served back byte for byte
    in meaning, valid to both OASIS libraries and checkable offline; the one changed after
    signing is refused in the status with its reason."""
    private = signing.load_private(signing.generate()[0])
    registered = requests.post(
        f"{taxii_node.base}/api/v1/auth/keys",
        json={"public_key": signing.public_b64(private)},
        headers={"Authorization": f"Bearer {taxii_node.clients['kaz'].token}"},
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    genuine = signatures.sign(private, "KAZ", indicator(400, markings=[TLP_GREEN]))
    changed = {**signatures.sign(private, "KAZ", indicator(401, markings=[TLP_GREEN])), "name": "x"}
    status = kaz.add_objects(envelope(genuine, changed), wait_for_completion=True)
    assert (status.success_count, status.failure_count) == (1, 1)
    assert status.failures[0]["id"] == changed["id"]
    assert "does not match the object" in status.failures[0]["message"]
    served = kaz.get_object(genuine["id"])["objects"]
    assert served == [genuine]
    check_stix(served)
    block = signatures.block(served[0], signing.public_b64(private))
    assert submissions.check_offline(block) == (True, "ok")
