"""The registry's questions, answered from the shipped reference data on real dates."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from indivisible.errors import NotFound
from indivisible.registry import service
from indivisible.registry.enums import MembershipStatus

SCO_FOUNDERS = {"CHN", "KAZ", "KGZ", "RUS", "TJK", "UZB"}


def members(db: Session, org: str, on: str, *statuses: MembershipStatus) -> set[str]:
    wanted = list(statuses) or [MembershipStatus.member]
    return {
        m.state_code for m in service.members_on(db, org, date.fromisoformat(on), wanted).members
    }


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        ("2016-12-31", SCO_FOUNDERS),
        ("2017-06-08", SCO_FOUNDERS),
        ("2017-06-09", SCO_FOUNDERS | {"IND", "PAK"}),
        ("2023-07-03", SCO_FOUNDERS | {"IND", "PAK"}),
        ("2023-07-04", SCO_FOUNDERS | {"IND", "PAK", "IRN"}),
        ("2024-07-03", SCO_FOUNDERS | {"IND", "PAK", "IRN"}),
        ("2024-07-04", SCO_FOUNDERS | {"IND", "PAK", "IRN", "BLR"}),
    ],
)
def test_sco_members_on_dates(db: Session, on: str, expected: set[str]) -> None:
    assert members(db, "SCO", on) == expected


def test_sco_did_not_exist_before_2001_but_the_shanghai_five_did(db: Session) -> None:
    assert members(db, "SCO", "2000-01-01") == set()
    assert members(db, "SHANGHAI-FIVE", "1997-01-01") == {"CHN", "KAZ", "KGZ", "RUS", "TJK"}


def test_sco_observers_before_india_and_pakistan_joined(db: Session) -> None:
    observers = members(db, "SCO", "2016-12-31", MembershipStatus.observer)
    assert {"IND", "PAK", "IRN", "MNG", "AFG", "BLR"} <= observers
    assert not observers & SCO_FOUNDERS


def test_sco_india_changes_from_observer_to_member_on_the_astana_summit(db: Session) -> None:
    periods = {
        (p.status, p.valid_from, p.valid_to)
        for row in service.membership_timeline(db, "SCO")
        if row.state == "IND"
        for p in row.periods
    }
    assert ("observer", date(2005, 7, 5), date(2017, 6, 9)) in periods
    assert any(status == "member" and start == date(2017, 6, 9) for status, start, _ in periods)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        ("1998-06-01", {"ARM", "AZE", "BLR", "GEO", "KAZ", "KGZ", "RUS", "TJK", "UZB"}),
        ("2000-06-01", {"ARM", "BLR", "KAZ", "KGZ", "RUS", "TJK"}),
    ],
)
def test_collective_security_treaty_parties_before_the_csto(
    db: Session, on: str, expected: set[str]
) -> None:
    answer = service.parties_on(db, "CST-1992", date.fromisoformat(on))
    assert answer.in_force
    assert {p.state for p in answer.parties} == expected
    assert members(db, "CSTO", on) == set()  # the organisation only exists from its Charter


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        ("2010-06-01", {"ARM", "BLR", "KAZ", "KGZ", "RUS", "TJK", "UZB"}),
        ("2013-06-01", {"ARM", "BLR", "KAZ", "KGZ", "RUS", "TJK"}),
        ("2026-11-23", {"BLR", "KAZ", "KGZ", "RUS", "TJK"}),
    ],
)
def test_csto_members_on_dates(db: Session, on: str, expected: set[str]) -> None:
    assert members(db, "CSTO", on) == expected


def test_csto_today_armenia_frozen_and_uzbekistan_not_a_member(db: Session) -> None:
    today = "2026-11-23"
    assert members(db, "CSTO", today, MembershipStatus.frozen) == {"ARM"}
    standing = {m.state_code: m for m in service.members_on(db, "CSTO", date(2026, 11, 23)).members}
    assert standing["ARM"].uncertain, "a unilateral freeze must be marked as uncertain"
    assert "UZB" not in members(db, "CSTO", today)


def test_every_membership_carries_a_source(db: Session) -> None:
    for org in ("SCO", "CSTO", "CIS", "EAEU"):
        for row in service.membership_timeline(db, org):
            for period in row.periods:
                assert period.sources, f"{org} {row.state} {period.valid_from} has no source"


def test_state_standing_lists_memberships_and_agreements(db: Session) -> None:
    standing = service.state_standing(db, "KAZ", date(2022, 1, 5))
    orgs = {m.organisation_code: m.status for m in standing.memberships}
    assert orgs["SCO"] == "member"
    assert orgs["CSTO"] == "member"
    agreements = {a.agreement for a in standing.agreements}
    assert {"CST-1992", "SCO-CHARTER-2002"} <= agreements
    cst = next(a for a in standing.agreements if a.agreement == "CST-1992")
    assert any(o.article == "Article 4" and o.kind == "mutual-assistance" for o in cst.obligations)


def test_who_must_assist_kazakhstan_in_january_2022(db: Session) -> None:
    answer = service.bound_to_assist(db, "KAZ", date(2022, 1, 5))
    cst = {
        d.state
        for d in answer.bound_to_assist
        if d.agreement == "CST-1992" and d.article == "Article 4"
    }
    assert cst == {"ARM", "BLR", "KGZ", "RUS", "TJK"}
    assert all(d.sources for d in answer.bound_to_assist)
    helpers = {d.state for d in answer.bound_to_assist}
    consult_only = {d.state for d in answer.only_consult}
    # CIS members outside the Treaty (Azerbaijan, Uzbekistan in 2022) only have to consult.
    assert {"AZE", "UZB"} <= consult_only
    assert "CIS-CHARTER-1993" in {d.agreement for d in answer.only_consult}
    assert not helpers & consult_only
    assert "KAZ" not in helpers | consult_only


def test_armenias_frozen_participation_is_reported_apart(db: Session) -> None:
    answer = service.bound_to_assist(db, "KAZ", date(2025, 1, 1))
    assert "ARM" not in {d.state for d in answer.bound_to_assist if d.agreement.startswith("CST")}
    assert "ARM" in {d.state for d in answer.participation_inactive}


def test_security_belt_of_afghanistan(db: Session) -> None:
    belt = service.security_belt(db, "AFG", date(2024, 1, 1))
    neighbours = {n.state: n for n in belt.neighbours}
    assert set(neighbours) == {"CHN", "IRN", "PAK", "TJK", "TKM", "UZB"}
    assert all(n.border_km for n in belt.neighbours)
    assert set(belt.coverage["SCO"]) == {"CHN", "IRN", "PAK", "TJK", "UZB"}
    assert belt.coverage["CSTO"] == ["TJK"]
    # Tajikistan and Uzbekistan are bound to each other (and to China) by the SCO Charter.
    assert "UZB" in neighbours["TJK"].bound_with["SCO-CHARTER-2002"]


def test_overlap_of_sco_and_csto(db: Session) -> None:
    before = service.overlap(db, "SCO", "CSTO", date(2023, 7, 4))
    assert set(before.both) == {"KAZ", "KGZ", "RUS", "TJK"}
    assert set(before.only_b) == {"ARM", "BLR"}
    assert "CHN" in before.only_a
    # Belarus joined the SCO on 2024-07-04, after Armenia froze its CSTO participation.
    after = service.overlap(db, "SCO", "CSTO", date(2024, 7, 4))
    assert set(after.both) == {"BLR", "KAZ", "KGZ", "RUS", "TJK"}
    assert after.only_b == []


def test_unknown_codes_are_not_found(db: Session) -> None:
    with pytest.raises(NotFound) as err:
        service.members_on(db, "NOPE", date(2020, 1, 1))
    assert err.value.field == "organisation"
    with pytest.raises(NotFound):
        service.bound_to_assist(db, "XXX", date(2020, 1, 1))


def test_agreements_between_sides_bind_across_sides_only(db: Session) -> None:
    belt = service.security_belt(db, "KGZ", date(2000, 1, 1))
    kaz = next(n for n in belt.neighbours if n.state == "KAZ")
    # Under the 1996 agreement Kazakhstan is bound to China, not to its Joint-Party partners.
    assert kaz.bound_with.get("SHANGHAI-CBM-1996") == ["CHN"]
    parties = service.parties_on(db, "SHANGHAI-CBM-1996", date(2000, 1, 1))
    assert {p.state: p.side for p in parties.parties}["CHN"] == "china"
    assert "in_force_unrecorded" in {c.code for c in parties.caveats}


def test_participation_is_judged_in_the_organisation_that_made_the_state_a_party(
    db: Session,
) -> None:
    from indivisible.auth.principal import Actor
    from indivisible.registry.schemas import AgreementCreate

    service.put_agreement(
        db,
        Actor.console("test"),
        AgreementCreate.model_validate(
            {
                "code": "TEST-CSTO-MEMBERS",
                "title": {"en": "T"},
                "kind": "treaty",
                "in_force": "2020-01-01",
                "sources": ["iso-3166-1"],
                "parties": [
                    {
                        "members_of": "CSTO",
                        "statuses": ["member", "frozen"],
                        "sources": ["iso-3166-1"],
                    }
                ],
                "obligations": [
                    {
                        "kind": "mutual-assistance",
                        "article": "1",
                        "summary": "s",
                        "sources": ["iso-3166-1"],
                    }
                ],
            }
        ),
    )
    answer = service.bound_to_assist(db, "KAZ", date(2025, 1, 1))
    test_duties = [d for d in answer.participation_inactive if d.agreement == "TEST-CSTO-MEMBERS"]
    assert [d.state for d in test_duties] == ["ARM"]
    assert "ARM" not in {
        d.state for d in answer.bound_to_assist if d.agreement == "TEST-CSTO-MEMBERS"
    }


def test_the_asking_states_own_frozen_participation_is_stated(db: Session) -> None:
    answer = service.bound_to_assist(db, "ARM", date(2025, 1, 1))
    own = {(p.agreement, p.status) for p in answer.own_participation}
    assert ("CST-1992", "frozen") in own


def test_coverage_counts_members_only(db: Session) -> None:
    belt = service.security_belt(db, "AFG", date(2020, 1, 1))
    assert "IRN" not in belt.coverage["SCO"]  # an observer until 2023
    iran = next(n for n in belt.neighbours if n.state == "IRN")
    assert ("SCO", "observer") in {(m.organisation_code, m.status) for m in iran.organisations}


def test_un_membership_is_complete(db: Session) -> None:
    assert len(members(db, "UN", "2026-11-23")) == 193
    assert len(members(db, "UN", "1946-01-01")) == 49
