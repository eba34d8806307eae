"""Incidents from the node's own STIX store into the event store.

The event store is read by every signed-in user and exported, so only incidents released to
the whole node and marked TLP:CLEAR or TLP:GREEN are taken: exactly those every user may
read already and may pass on within the community. An incident gets its place from a
``located-at`` relationship to a STIX location (ISO 3166-1 alpha-2 ``country``, latitude and
longitude), and its date from the incident core extension's ``first_seen`` where given,
else from ``created``. An incident without a located-at country is reported, not guessed.
STIX has no standard property for casualties, so fatalities are 0 unless the incident
carries ``x_indivisible_fatalities``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import duckdb
import pycountry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indivisible.sharing.markings import Tlp
from indivisible.sharing.models import StixObject
from indivisible.warning import store
from indivisible.warning.importers import ImportReport, Problem
from indivisible.warning.models import Event

RELEASED = (Tlp.clear.value, Tlp.green.value)
INCIDENT_EXTENSION = "extension-definition--ef765651-680c-498d-9894-99799f2fa126"


def _latest(session: Session, types: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The newest version of each object of these types released to the whole node as
    CLEAR or GREEN, by STIX id."""
    newest = (
        select(StixObject.stix_id, func.max(StixObject.modified).label("modified"))
        .where(
            StixObject.type.in_(types),
            StixObject.distribution == "node",
            StixObject.tlp.in_(RELEASED),
        )
        .group_by(StixObject.stix_id)
        .subquery()
    )
    rows = session.scalars(
        select(StixObject)
        .join(
            newest,
            (newest.c.stix_id == StixObject.stix_id) & (newest.c.modified == StixObject.modified),
        )
        .where(StixObject.distribution == "node", StixObject.tlp.in_(RELEASED))
    )
    return {row.stix_id: json.loads(row.body) for row in rows}


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def incidents(session: Session, report: ImportReport) -> Iterator[Event]:
    objects = _latest(session, ("incident", "location", "relationship"))
    places: dict[str, dict[str, Any]] = {}
    for obj in objects.values():
        if obj.get("type") == "relationship" and obj.get("relationship_type") == "located-at":
            target = objects.get(str(obj.get("target_ref")))
            if target is not None and target.get("type") == "location":
                places.setdefault(str(obj.get("source_ref")), target)
    for stix_id, obj in sorted(objects.items()):
        if obj.get("type") != "incident":
            continue
        report.rows += 1
        place = places.get(stix_id)
        code = str(place.get("country", "")).upper() if place else ""
        country = pycountry.countries.get(alpha_2=code) if code else None
        if country is None:
            report.problems.append(
                Problem(0, "location", f"{stix_id}: no located-at location with a known country")
            )
            continue
        extension = obj.get("extensions", {}).get(INCIDENT_EXTENSION, {})
        day = _day(extension.get("first_seen")) or _day(obj.get("created"))
        if day is None:
            report.problems.append(Problem(0, "created", f"{stix_id}: no date"))
            continue
        fatalities = obj.get("x_indivisible_fatalities", 0)
        if not isinstance(fatalities, int) or fatalities < 0:
            report.problems.append(
                Problem(0, "x_indivisible_fatalities", f"{stix_id}: not a whole number")
            )
            continue
        latitude = place.get("latitude") if place else None
        longitude = place.get("longitude") if place else None
        yield Event(
            source="stix",
            source_id=stix_id,
            event_date=day,
            date_precision="day",
            country=str(country.alpha_3),
            admin1=place.get("administrative_area") if place else None,
            latitude=float(latitude) if isinstance(latitude, int | float) else None,
            longitude=float(longitude) if isinstance(longitude, int | float) else None,
            geo_precision="exact" if latitude is not None else "country",
            event_type="incident",
            sub_event_type=obj.get("incident_type") or None,
            actor1=None,
            actor2=None,
            fatalities_best=fatalities,
            fatalities_low=None,
            fatalities_high=None,
            notes=obj.get("name"),
        )


def import_incidents(session: Session, connection: duckdb.DuckDBPyConnection) -> ImportReport:
    """Add the node's released incidents that the store does not hold yet."""
    report = ImportReport(source="stix")
    added = store.add(connection, incidents(session, report))
    report.imported = added.new
    report.unchanged = added.already_there
    return report
