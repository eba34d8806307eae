"""Loading reference data: the shipped files, idempotence, and every kind of refusal."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from indivisible.audit.models import ChangeRecord
from indivisible.auth.principal import Actor
from indivisible.registry import loader, service
from indivisible.registry.datafile import parse_text
from indivisible.registry.models import Membership, Organisation
from tests.conftest import Backend

FIXTURES = Path(__file__).parent / "fixtures"
ACTOR = Actor.console("test")


def test_shipped_data_loads_without_a_single_refusal(backend: Backend) -> None:
    assert backend.report.refused == [], "\n".join(map(str, backend.report.refused))
    counts = backend.report.counts
    assert counts["state"]["added"] >= 249
    assert counts["organisation"]["added"] >= 7
    assert counts["border"]["added"] >= 60


def test_second_load_changes_nothing(db: Session) -> None:
    changes_before = db.scalar(select(func.count()).select_from(ChangeRecord))
    report = loader.load(db, ACTOR)
    assert report.refused == []
    for kind, counts in report.counts.items():
        assert counts.get("added", 0) == 0, kind
        assert counts.get("changed", 0) == 0, kind
    assert db.scalar(select(func.count()).select_from(ChangeRecord)) == changes_before


def test_fixture_file_loads_and_answers(db: Session) -> None:
    report = loader.load(db, ACTOR, [FIXTURES / "good.yaml"])
    assert report.refused == []
    assert report.counts["membership"]["added"] == 3
    members = service.members_on(db, "TESTORG", date(2007, 1, 1)).members
    assert {(m.state_code, m.status) for m in members} == {("KAZ", "member"), ("UZB", "observer")}
    uzb = next(
        m
        for m in service.members_on(db, "TESTORG", date(2010, 1, 1)).members
        if m.state_code == "UZB"
    )
    assert uzb.status == "member" and uzb.uncertain == "day not known"
    org = service.organisation_detail(db, "TESTORG")
    assert org.founded == date(2001, 1, 1) and org.founded_precision == "year"
    assert [s.key for s in org.sources] == ["test-charter"]
    assistance = service.bound_to_assist(db, "KAZ", date(2011, 1, 1))
    assert {d.state for d in assistance.bound_to_assist if d.agreement == "TESTORG-TREATY"} == {
        "UZB"
    }


def test_a_changed_fact_is_reported_changed_and_logged(db: Session, tmp_path: Path) -> None:
    loader.load(db, ACTOR, [FIXTURES / "good.yaml"])
    edited = tmp_path / "good.yaml"
    edited.write_text(
        (FIXTURES / "good.yaml").read_text().replace("length_km: 2330", "length_km: 2356")
    )
    report = loader.load(db, ACTOR, [edited])
    assert report.counts["border"]["changed"] == 1
    assert report.counts["membership"]["unchanged"] == 3
    log = db.scalars(
        select(ChangeRecord)
        .where(ChangeRecord.subject_type == "border")
        .order_by(ChangeRecord.id.desc())
    ).first()
    assert log is not None and log.action == "update"
    assert (
        log.before
        and log.after
        and log.before["length_km"] == 2330
        and log.after["length_km"] == 2356
    )


def test_bad_facts_are_refused_one_by_one_and_leave_nothing(db: Session) -> None:
    report = loader.load(db, ACTOR, [FIXTURES / "bad.yaml"])
    reasons = {r.where: r.reason for r in report.refused}
    assert any("KAZ in BADORG" in w and "sources" in r for w, r in reasons.items()), reasons
    assert any("XXX in BADORG" in w and "Unknown state code XXX" in r for w, r in reasons.items())
    assert any("TJK in BADORG from 2000" in w and "overlap" in r for w, r in reasons.items())
    assert any(
        "KGZ in BADORG" in w and "valid_to must be after valid_from" in r
        for w, r in reasons.items()
    )
    assert any("RUS in BADORG" in w and "no-such-source" in r for w, r in reasons.items())
    assert any("organisation UNSOURCED" in w and "sources" in r for w, r in reasons.items())
    assert any("border KAZ-KAZ" in w for w in reasons)
    # The accepted facts are there; refused ones left no row.
    states = set(
        db.scalars(select(Membership.state_code).where(Membership.organisation_code == "BADORG"))
    )
    # TJK's member period is valid, but its other period in BADORG overlaps it and is refused:
    # a state's periods in one organisation are applied together or not at all.
    assert states == set()
    assert any("not applied: another period" in str(r) for r in report.refused)
    assert db.get(Organisation, "UNSOURCED") is None


def test_a_malformed_file_is_refused_whole_with_the_place_of_the_error() -> None:
    data, problems = parse_text(
        "format: indivisible-registry/1\norganisations:\n  - code: X\n    kind: nonsense\n",
        "x.yaml",
    )
    assert data is None
    locations = {p.location for p in problems}
    assert "organisations.0.kind" in locations
    assert "organisations.0.name" in locations
    _, problems = parse_text("format: [unclosed", "y.yaml")
    assert problems and problems[0].location == "yaml"


def test_dates_keep_their_precision() -> None:
    data, problems = parse_text(
        "format: indivisible-registry/1\nagreements:\n  - code: A\n    title: {en: A}\n    kind: treaty\n"
        "    signed: '1994-05'\n    extensions:\n      - {signed: '1999', until: '2004-04-20', sources: [x]}\n",
        "z.yaml",
    )
    assert problems == [] and data is not None
    agreement = data.agreements[0]
    assert agreement.signed is not None and agreement.signed.precision == "month"
    assert agreement.effective_expiry() == date(2004, 4, 20)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text("format: indivisible-registry/1\n" + text, encoding="utf-8")
    return path


SOURCES = """sources:
  t-src: {title: T, reference: "doc 1", accessed: "2026-11-23"}
"""


def test_a_key_defined_twice_across_files_is_refused_the_second_time(
    db: Session, tmp_path: Path
) -> None:
    one = _write(
        tmp_path,
        "a.yaml",
        SOURCES
        + """organisations:
  - {code: ORGA, name: {en: A}, kind: forum, sources: [t-src],
     bodies: [{code: SHARED-BODY, name: {en: B}, kind: council, sources: [t-src]}]}
""",
    )
    two = _write(
        tmp_path,
        "b.yaml",
        """organisations:
  - {code: ORGA, name: {en: A again}, kind: forum, sources: [t-src]}
  - {code: ORGB, name: {en: B}, kind: forum, sources: [t-src],
     bodies: [{code: SHARED-BODY, name: {en: B}, kind: council, sources: [t-src]}]}
""",
    )
    first = loader.load(db, ACTOR, [one, two])
    reasons = [str(r) for r in first.refused]
    # Files are named by their full path: an operator's file is never taken for a shipped one.
    assert any(
        "organisation ORGA is defined more than once (first in " in r and "/a.yaml)" in r
        for r in reasons
    )
    assert any("body SHARED-BODY is defined more than once" in r for r in reasons)
    second = loader.load(db, ACTOR, [one, two])
    assert all(c.get("changed", 0) == 0 and c.get("added", 0) == 0 for c in second.counts.values())


def test_a_repeated_yaml_key_refuses_the_file() -> None:
    data, problems = parse_text(
        SOURCES + "  t-src: {title: Other, reference: x, accessed: '2026-01-01'}\n", "dup.yaml"
    )
    assert data is None
    assert "appears twice" in problems[0].message


def test_duplicate_citations_and_state_statuses_are_refused(db: Session, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "c.yaml",
        SOURCES
        + """agreements:
  - code: DUP-CITE
    title: {en: D}
    kind: treaty
    signed: "2000-01-01"
    sources: [t-src, t-src]
    parties: [{state: KAZ, sources: [t-src]}]
  - code: STATE-STATUSES
    title: {en: S}
    kind: treaty
    signed: "2000-01-01"
    sources: [t-src]
    parties: [{state: KAZ, statuses: [observer], sources: [t-src]}]
""",
    )
    report = loader.load(db, ACTOR, [path])
    reasons = " ".join(str(r) for r in report.refused)
    assert "each source may be cited once" in reasons
    assert "statuses apply only to the members of an organisation" in reasons


def test_the_bodies_and_memberships_of_a_refused_organisation_are_reported(
    db: Session, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "d.yaml",
        SOURCES
        + """organisations:
  - code: NOSOURCE
    name: {en: N}
    kind: forum
    bodies: [{code: NOSOURCE-B, name: {en: B}, kind: council, sources: [t-src]}]
    memberships: [{state: KAZ, status: member, from: "2001-01-01", sources: [t-src]}]
""",
    )
    report = loader.load(db, ACTOR, [path])
    assert report.counts["body"]["refused"] == 1
    assert report.counts["membership"]["refused"] == 1
    assert any("organisation NOSOURCE was refused" in str(r) for r in report.refused)


def test_a_corrected_date_replaces_the_old_period_and_a_dropped_fact_is_removed(
    db: Session, tmp_path: Path
) -> None:
    text = (FIXTURES / "good.yaml").read_text()
    path = tmp_path / "good.yaml"
    path.write_text(text)
    loader.load(db, ACTOR, [path])
    path.write_text(
        text.replace(
            '{state: KAZ, status: member, from: "2001-01-01"',
            '{state: KAZ, status: member, from: "2001-06-15"',
        ).replace(
            "borders:\n  - {states: [UZB, KAZ], length_km: 2330, sources: [test-charter]}\n", ""
        )
    )
    report = loader.load(db, ACTOR, [path])
    assert report.refused == []
    assert report.counts["membership"]["removed"] == 1
    assert report.counts["membership"]["added"] == 1
    assert report.counts["border"]["removed"] == 1
    periods = [
        p
        for row in service.membership_timeline(db, "TESTORG")
        if row.state == "KAZ"
        for p in row.periods
    ]
    assert [p.valid_from for p in periods] == [date(2001, 6, 15)]


def test_a_load_never_removes_what_the_api_added(db: Session) -> None:
    from indivisible.registry.schemas import MembershipCreate

    service.add_membership(
        db,
        ACTOR,
        MembershipCreate(
            state="NZL",
            organisation="SCO",
            status="partner",
            valid_from=date(2030, 1, 1),
            sources=["iso-3166-1"],
        ),
    )
    report = loader.load(db, ACTOR)
    assert report.counts["membership"].get("removed", 0) == 0
    assert any(
        m.state_code == "NZL" for m in service.members_on(db, "SCO", date(2030, 1, 2)).members
    )


def test_check_applies_every_rule_without_a_database(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "e.yaml",
        """organisations:
  - {code: CHECKED, name: {en: C}, kind: forum, sources: [missing-source]}
""",
    )
    report = loader.check([path])
    assert any("missing-source" in str(r) for r in report.refused)
    assert loader.check().refused == []


def test_a_refused_correction_keeps_the_old_period(db: Session, tmp_path: Path) -> None:
    text = (FIXTURES / "good.yaml").read_text()
    path = tmp_path / "good.yaml"
    path.write_text(text)
    loader.load(db, ACTOR, [path])
    # The corrected date cites a source that does not exist: the correction is refused...
    path.write_text(
        text.replace(
            '{state: KAZ, status: member, from: "2001-01-01", sources: [test-charter]}',
            '{state: KAZ, status: member, from: "2001-06-15", sources: [test-chartr]}',
        )
    )
    report = loader.load(db, ACTOR, [path])
    assert report.counts["membership"]["refused"] == 1
    assert report.counts["membership"].get("removed", 0) == 0
    # ...and the period it was to replace is still there.
    periods = [
        p
        for row in service.membership_timeline(db, "TESTORG")
        if row.state == "KAZ"
        for p in row.periods
    ]
    assert [p.valid_from for p in periods] == [date(2001, 1, 1)]


def test_a_file_of_the_same_name_elsewhere_does_not_stand_for_a_shipped_one(
    db: Session, tmp_path: Path
) -> None:
    """An operator's own un.yaml must not prune the shipped UN data."""
    local = _write(
        tmp_path,
        "un.yaml",
        SOURCES
        + """borders:
  - {states: [AFG, PAK], length_km: 2670, sources: [t-src]}
""",
    )
    before = len(service.members_on(db, "UN", date(2026, 11, 23)).members)
    report = loader.load(db, ACTOR, [local])
    assert all(c.get("removed", 0) == 0 for c in report.counts.values())
    assert len(service.members_on(db, "UN", date(2026, 11, 23)).members) == before


def test_recording_where_a_fact_comes_from_is_not_a_change(db: Session) -> None:
    db.execute(update(Membership).values(origin=None))
    changes_before = db.scalar(select(func.count()).select_from(ChangeRecord))
    report = loader.load(db, ACTOR)
    assert report.counts["membership"].get("changed", 0) == 0
    assert db.scalar(select(func.count()).select_from(ChangeRecord)) == changes_before
    assert (
        db.scalar(select(func.count()).select_from(Membership).where(Membership.origin.is_(None)))
        == 0
    )


def test_check_reads_a_file_together_with_the_shipped_data(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "f.yaml",
        SOURCES
        + """organisations:
  - code: SCO-FRIENDS
    name: {en: Friends of the SCO}
    kind: forum
    sources: [t-src]
    memberships: [{state: KAZ, status: member, from: "2020-01-01", sources: [t-src]}]
agreements:
  - code: SCO-EXTRA
    title: {en: An extra SCO agreement}
    kind: agreement
    signed: "2020-01-01"
    organisation: SCO
    sources: [t-src]
    parties: [{members_of: SCO, sources: [t-src]}]
""",
    )
    assert loader.check([path]).refused == []
