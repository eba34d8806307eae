"""Incidents from the node's STIX store into the event store, on both databases: only what
every user may read and pass on (released to the whole node, TLP:CLEAR or GREEN) goes in,
placed by its located-at location; a re-import adds nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor, Role
from indivisible.sharing import service as sharing
from indivisible.sharing.markings import MARKING_IDS, Tlp
from indivisible.sharing.schemas import CollectionCreate, Distribution, Release
from indivisible.warning import stix, store

KAZ = Actor(label="kaz", role=Role.liaison, principal_id=None, state_code="KAZ")
GREEN = next(k for k, v in MARKING_IDS.items() if v is Tlp.green)
AMBER = next(k for k, v in MARKING_IDS.items() if v is Tlp.amber)
T = "2024-03-01T10:00:00.000Z"


def incident(n: int, marking: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "incident", "spec_version": "2.1", "created": T, "modified": T,
        "id": f"incident--6b7c2b44-1c5c-4a0e-9a51-0000000000{n:02d}",
        "name": f"Test incident {n} (fictional)", "object_marking_refs": [marking], **extra,
    }  # fmt: skip


def located(n: int, country: str, marking: str) -> list[dict[str, Any]]:
    location = {
        "type": "location", "spec_version": "2.1", "created": T, "modified": T,
        "id": f"location--0a3f0e9c-8b8e-4a53-9d0e-0000000000{n:02d}",
        "country": country, "latitude": 43.25, "longitude": 76.9, "object_marking_refs": [marking],
    }  # fmt: skip
    relationship = {
        "type": "relationship", "spec_version": "2.1", "created": T, "modified": T,
        "id": f"relationship--5d1a7f1e-2f4c-4d0b-8a39-0000000000{n:02d}",
        "relationship_type": "located-at", "object_marking_refs": [marking],
        "source_ref": incident(n, marking)["id"], "target_ref": location["id"],
    }  # fmt: skip
    return [location, relationship]


def test_only_released_incidents_with_a_place_go_in(db: Session) -> None:
    console = Actor.console("t")
    node = sharing.create_collection(
        db, console, CollectionCreate(title="Node", release=Release(distribution=Distribution.node))
    )
    mine = sharing.create_collection(
        db,
        console,
        CollectionCreate(title="Own", release=Release(distribution=Distribution.submitter)),
    )
    sharing.submit(
        db, KAZ, node,
        [incident(1, GREEN, x_indivisible_fatalities=3), *located(1, "KZ", GREEN),
         incident(2, AMBER), *located(2, "KG", AMBER),
         incident(3, GREEN)],
    )  # fmt: skip
    sharing.submit(db, KAZ, mine, [incident(4, GREEN), *located(4, "TJ", GREEN)])
    db.flush()
    events = store.connect(":memory:")
    report = stix.import_incidents(db, events)
    # AMBER (2) and the submitter-only release (4) are not read; 3 has no place.
    assert (report.rows, report.imported, report.refused) == (2, 1, 1)
    assert "no located-at location" in report.problems[0].rule
    row = events.execute(
        "SELECT source, country, event_date::VARCHAR, fatalities_best, latitude FROM events"
    ).fetchone()
    assert row == ("stix", "KAZ", "2024-03-01", 3, 43.25)
    again = stix.import_incidents(db, events)
    assert (again.imported, again.unchanged) == (0, 1)
