"""End to end over the API, on both databases: a late, over-threshold notification from one
state reaches another's inbox with its findings, is questioned and answered, and shows in the
regime's compliance report with annual data, calendars and verification quotas; a state that
is not a party sees none of it.

The notice period and threshold come from a test regime written to a directory the node is
pointed at (INDIVISIBLE_CBM_RULES), as an operator would add one: the shipped 1996 and 1997
files encode no notification threshold, because none could be read in their texts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor, Role
from indivisible.cbm import compliance, service
from indivisible.cbm.ruleset import parse_text
from indivisible.config import get_settings
from tests.conftest import bearer_tokens

NEAR_BORDER = [80.0, 44.5]

# A fictional regime for tests only, over the 1996 agreement's parties and zone.
TEST_REGIME = """
format: indivisible-cbm/1
code: TEST-NOTICE-42
agreement: SHANGHAI-CBM-1996
version: 1
title: {en: Test regime (fictional), ru: Тестовый режим, zh: 测试制度}
sources:
  test: {title: "Test fixture, not a real text", reference: "tests/cbm/test_compliance.py", accessed: "2026-12-01"}
area:
  kind: border-zone
  depth_km: {value: 100, cite: "T1", source: test}
  borders: [[CHN, KAZ]]
  cite: "T1"
  source: test
activities: [exercise, concentration]
notification:
  - id: t2
    cite: "T2"
    source: test
    activities: [exercise, concentration]
    trigger:
      any_of:
        - {category: personnel, at_least: {value: 9000, cite: "T2", source: test}}
    notice_days: {value: 42, cite: "T2", source: test}
    content: [purpose]
annual_exchange:
  id: t7
  cite: "T7"
  source: test
  due: "12-15"
  year_offset: -1
  categories: [personnel]
ceilings:
  - id: t3
    category: personnel
    limit: {value: 50000, cite: "T3", source: test}
    cite: "T3"
    source: test
quotas:
  - id: t4
    kind: inspection
    per_year: {value: 1, cite: "T4", source: test}
    cite: "T4"
    source: test
constraints:
  - id: t6
    cite: "T6"
    source: test
    trigger:
      any_of:
        - {category: personnel, at_least: {value: 30000, cite: "T6", source: test}}
    max_activities: {value: 1, cite: "T6", source: test}
clarification:
  id: t5
  cite: "T5"
  source: test
  reply_days: {value: 7, cite: "T5", source: test}
"""

USERS = {
    "a": (Role.liaison, "KAZ"),
    "b": (Role.liaison, "CHN"),
    "b-analyst": (Role.analyst, "CHN"),
    "c": (Role.liaison, "USA"),
}


@pytest.fixture
def regime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "test-notice-42.yaml").write_text(TEST_REGIME, encoding="utf-8")
    monkeypatch.setenv("INDIVISIBLE_CBM_RULES", str(tmp_path))
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("INDIVISIBLE_CBM_RULES")
    get_settings.cache_clear()


@pytest.fixture
def tokens(db: Session) -> dict[str, dict[str, str]]:
    return bearer_tokens(
        db, "cc", {name: (role, state, None) for name, (role, state) in USERS.items()}
    )


def test_the_test_regime_is_a_valid_rule_set() -> None:
    rules, problems = parse_text(TEST_REGIME, "test")
    assert problems == [] and rules is not None


def test_late_notification_from_filing_to_compliance_report(
    client: TestClient, tokens: dict[str, dict[str, str]], regime: None
) -> None:
    assert "TEST-NOTICE-42" in {r.code for r in service.rule_sets()}
    today = datetime.now(UTC).date()
    start = today + timedelta(days=30)
    year = start.year
    filed = client.post(
        "/api/v1/cbm/notifications",
        json={
            "kind": "exercise",
            "start": start.isoformat(),
            "end": (start + timedelta(days=5)).isoformat(),
            "location": {"point": NEAR_BORDER, "radius_km": 10},
            "forces": {"personnel": 36000},
        },
        headers=tokens["a"],
    )
    assert filed.status_code == 201, filed.text
    notification = filed.json()
    late = next(
        f
        for f in notification["findings"]
        if f["rule_set"] == "TEST-NOTICE-42" and f["rule"] == "t2"
    )
    assert late["outcome"] == "late"
    assert late["text"] == "T2: notified 30 days ahead, 42 required: 12 days late."

    lacking = next(f for f in notification["findings"] if f["outcome"] == "incomplete")
    assert lacking["text"] == "T2: the notification lacks required content: purpose."

    # B finds it in its inbox, with the same findings.
    inbox = client.get("/api/v1/cbm/notifications?box=inbox", headers=tokens["b"]).json()
    mine = next(n for n in inbox if n["id"] == notification["id"])
    assert any(f["outcome"] == "late" for f in mine["findings"])
    asked = client.post(
        f"/api/v1/cbm/notifications/{notification['id']}/clarifications",
        json={"question": "Why so late?"},
        headers=tokens["b"],
    )
    assert asked.status_code == 201, asked.text
    assert asked.json()["due_rule"] in {"TEST-NOTICE-42 T5", "SHANGHAI-CBM-1996 Art. 9"}

    report = client.get(f"/api/v1/cbm/compliance/TEST-NOTICE-42/{year}", headers=tokens["b"])
    assert report.status_code == 200, report.text
    kaz = next(s for s in report.json()["states"] if s["state"] == "KAZ")
    assert (kaz["late"], kaz["on_time"], kaz["open_clarifications"]) == (1, 0, 1)
    assert kaz["incomplete"] == [notification["id"]]

    answered = client.post(
        f"/api/v1/cbm/clarifications/{asked.json()['id']}/answer",
        json={"answer": "The order came late."},
        headers=tokens["a"],
    )
    assert answered.status_code == 200, answered.text
    after = client.get(f"/api/v1/cbm/compliance/TEST-NOTICE-42/{year}", headers=tokens["b-analyst"])
    kaz = next(s for s in after.json()["states"] if s["state"] == "KAZ")
    assert (kaz["late"], kaz["open_clarifications"]) == (1, 0)
    lines = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    f"/api/v1/cbm/compliance/TEST-NOTICE-42/{year}/report.csv",
                    headers=tokens["b"],
                ).text
            )
        )
    )
    assert {"rule_set": "TEST-NOTICE-42", "year": str(year), "section": "state", "state": "KAZ",
            "rule": "", "cite": "", "measure": "late", "value": "1"} in lines  # fmt: skip

    # A second activity of 30,000 or more in the year breaks the T6 constraint.
    second = client.post(
        "/api/v1/cbm/notifications",
        json={
            "kind": "exercise",
            "start": start.isoformat(),
            "end": (start + timedelta(days=2)).isoformat(),
            "location": {"point": NEAR_BORDER, "radius_km": 5},
            "forces": {"personnel": 31000},
        },
        headers=tokens["a"],
    ).json()
    first_t6 = next(f for f in notification["findings"] if f["rule"] == "t6")
    second_t6 = next(f for f in second["findings"] if f["rule"] == "t6")
    assert (first_t6["outcome"], second_t6["outcome"]) == ("within", "exceeded")
    assert (
        second_t6["text"]
        == "T6: activity 2 of its size in 1 year(s), 1 allowed: constraint broken."
    )
    again = client.get(f"/api/v1/cbm/compliance/TEST-NOTICE-42/{year}", headers=tokens["b"])
    kaz = next(s for s in again.json()["states"] if s["state"] == "KAZ")
    assert kaz["constraints_broken"] == [second["id"]]

    pdf = client.get(
        f"/api/v1/cbm/compliance/TEST-NOTICE-42/{year}/report.pdf?lang=ru", headers=tokens["b"]
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    # The column heading "Late" in Russian, and the row of the state that filed late.
    assert "С опозданием" in _pdf_text(pdf.content) and "KAZ" in _pdf_text(pdf.content)

    # C is no party: the notification, the inbox and the report are all closed to it.
    assert (
        client.get(
            f"/api/v1/cbm/notifications/{notification['id']}", headers=tokens["c"]
        ).status_code
        == 404
    )
    assert client.get("/api/v1/cbm/notifications?box=inbox", headers=tokens["c"]).json() == []
    assert client.get("/api/v1/cbm/notifications", headers=tokens["c"]).json() == []
    for path in (
        f"/api/v1/cbm/compliance/TEST-NOTICE-42/{year}",
        f"/api/v1/cbm/compliance/TEST-NOTICE-42/{year}/report.csv",
        f"/api/v1/cbm/compliance/TEST-NOTICE-42/{year}/report.pdf",
    ):
        hidden = client.get(path, headers=tokens["c"])
        assert hidden.status_code == 404 and "KAZ" not in hidden.text
    assert (
        client.post(
            f"/api/v1/cbm/notifications/{notification['id']}/clarifications",
            json={"question": "?"},
            headers=tokens["c"],
        ).status_code
        == 404
    )


def _pdf_text(content: bytes) -> str:
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    # Table cells wrap their words onto several lines.
    return " ".join(text.split())


def fields(answer: Any) -> list[str]:
    return [e["field"] for e in answer.json().get("errors", [])]


def _planned(start: date, kind: str = "concentration", personnel: int = 20000) -> dict[str, Any]:
    return {
        "kind": kind,
        "start": start.isoformat(),
        "end": (start + timedelta(days=3)).isoformat(),
        "location": {"point": NEAR_BORDER, "radius_km": 5},
        "forces": {"personnel": personnel},
    }


def test_annual_data_calendars_and_quotas_in_the_report(
    client: TestClient, tokens: dict[str, dict[str, str]], regime: None, db: Session
) -> None:
    year = 2026
    sent = client.post(
        "/api/v1/cbm/annual-data",
        json={"rule_set": "TEST-NOTICE-42", "year": year, "holdings": [{"category": "personnel", "count": 60000}]},
        headers=tokens["a"],
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    assert client.post(
        "/api/v1/cbm/annual-data",
        json={"rule_set": "TEST-NOTICE-42", "year": year, "holdings": [{"category": "personnel", "count": 40000}]},
        headers=tokens["b"],
    ).status_code == 201  # fmt: skip
    # T7 exchanges personnel only.
    tanks = client.post(
        "/api/v1/cbm/annual-data",
        json={"rule_set": "TEST-NOTICE-42", "year": year, "holdings": [{"category": "battle-tanks", "count": 1}]},
        headers=tokens["a"],
    )  # fmt: skip
    assert tanks.status_code == 422 and fields(tanks) == ["holdings.0.category"]
    # Planned, required by T2 (20,000 over 9,000), begun, never notified: missing.
    calendar = client.post(
        "/api/v1/cbm/calendars",
        json={"year": year, "activities": [_planned(date(year, 3, 1)), _planned(date(year, 4, 1), personnel=5000)]},
        headers=tokens["a"],
    )  # fmt: skip
    assert calendar.status_code == 201, calendar.text
    planned = calendar.json()
    assert planned[0]["agreements"] == sorted(["MOSCOW-REDUCTION-1997", "TEST-NOTICE-42"])
    # Routed to the other parties, not beyond.
    assert [
        e["id"]
        for e in client.get(f"/api/v1/cbm/calendars?year={year}", headers=tokens["b"]).json()
    ] == [e["id"] for e in planned]
    assert client.get(f"/api/v1/cbm/calendars?year={year}", headers=tokens["c"]).json() == []

    first = client.post(
        "/api/v1/cbm/verifications",
        json={"rule_set": "TEST-NOTICE-42", "kind": "inspection", "receiving_state": "KAZ", "visit_on": f"{year}-05-01"},
        headers=tokens["b"],
    )  # fmt: skip
    assert first.status_code == 201 and first.json()["beyond_quota"] is False
    # Only the receiving state decides; a refusal needs grounds.
    decide = f"/api/v1/cbm/verifications/{first.json()['id']}/decision"
    assert client.post(decide, json={"accept": True}, headers=tokens["b"]).status_code == 403
    refused = client.post(decide, json={"accept": False}, headers=tokens["a"])
    assert refused.status_code == 422 and fields(refused) == ["grounds"]
    assert client.post(decide, json={"accept": True}, headers=tokens["a"]).status_code == 200
    assert client.post(decide, json={"accept": True}, headers=tokens["a"]).status_code == 409
    reported = client.post(
        f"/api/v1/cbm/verifications/{first.json()['id']}/report",
        json={"report": "Forces as declared."},
        headers=tokens["b"],
    )
    assert reported.json()["status"] == "reported"
    second = client.post(
        "/api/v1/cbm/verifications",
        json={"rule_set": "TEST-NOTICE-42", "kind": "inspection", "receiving_state": "KAZ", "visit_on": f"{year}-06-01"},
        headers=tokens["b"],
    )  # fmt: skip
    assert second.json()["beyond_quota"] is True
    assert client.get("/api/v1/cbm/verifications", headers=tokens["c"]).json() == []

    b = Actor(label="test", role=Role.liaison, state_code="CHN")
    found = compliance.report(db, b, "TEST-NOTICE-42", year, as_of=date(year, 12, 31))
    states = {s.state: s for s in found.states}
    assert states["KAZ"].missing == [planned[0]["id"]]
    assert states["KAZ"].annual_data and states["CHN"].annual_data
    # Due on 15 December of the year before (T7); sent through the API today, so late.
    assert found.annual_data_due == date(year - 1, 12, 15)
    assert states["KAZ"].annual_data_late is True and states["RUS"].annual_data_late is None
    assert not states["RUS"].annual_data
    ceilings = {c.state: c for c in found.ceilings}
    assert (ceilings["KAZ"].outcome, ceilings["KAZ"].holding) == ("exceeded", 60000)
    assert ceilings["CHN"].outcome == "held"
    assert ceilings["RUS"].outcome == "no-data" and ceilings["RUS"].missing == ["RUS"]
    kaz_quota = next(q for q in found.quotas if q.receiving_state == "KAZ")
    assert (kaz_quota.used, kaz_quota.per_year, kaz_quota.beyond_quota) == (1, 1, 1)
    # Before the planned activity began, it is not yet missing.
    early = compliance.report(db, b, "TEST-NOTICE-42", year, as_of=date(year, 2, 1))
    assert next(s for s in early.states if s.state == "KAZ").missing == []


def test_annual_data_is_refused_clearly_and_changes_nothing(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    cases = [
        ({"rule_set": "NO-SUCH", "year": 2026, "holdings": [{"category": "personnel", "count": 1}]}, "rule_set"),
        ({"rule_set": "MOSCOW-REDUCTION-1997", "year": 2026, "holdings": [{"sector": "north", "category": "personnel", "count": 1}]}, "holdings.0.sector"),
        ({"rule_set": "MOSCOW-REDUCTION-1997", "year": 2026, "holdings": [{"category": "personnel", "count": 1}, {"category": "personnel", "count": 2}]}, "holdings"),
        ({"rule_set": "MOSCOW-REDUCTION-1997", "year": 2026, "holdings": [{"category": "warships", "count": 1}]}, "holdings.0.category"),
    ]  # fmt: skip
    for body, field in cases:
        answer = client.post("/api/v1/cbm/annual-data", json=body, headers=tokens["a"])
        assert answer.status_code == 422, answer.text
        assert field in fields(answer), answer.text
    # The United States is no party of the 1997 agreement.
    outsider = client.post(
        "/api/v1/cbm/annual-data",
        json={"rule_set": "MOSCOW-REDUCTION-1997", "year": 2026, "holdings": [{"category": "personnel", "count": 1}]},
        headers=tokens["c"],
    )  # fmt: skip
    assert outsider.status_code == 422 and outsider.json()["code"] == "not_a_party"
    assert client.get("/api/v1/cbm/annual-data", headers=tokens["a"]).json() == []


def test_resubmitted_annual_data_replaces_the_first(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    body: dict[str, Any] = {"rule_set": "MOSCOW-REDUCTION-1997", "year": 2026, "holdings": [{"sector": "east", "category": "personnel", "count": 1000}]}  # fmt: skip
    first = client.post("/api/v1/cbm/annual-data", json=body, headers=tokens["a"]).json()
    body["holdings"][0]["count"] = 1200
    second = client.post("/api/v1/cbm/annual-data", json=body, headers=tokens["a"]).json()
    assert second["id"] == first["id"] and second["revised_at"] is not None
    seen = client.get("/api/v1/cbm/annual-data?year=2026", headers=tokens["b"]).json()
    assert [d["holdings"][0]["count"] for d in seen] == [1200]
    assert client.get("/api/v1/cbm/annual-data", headers=tokens["c"]).json() == []


def test_the_moscow_ceilings_count_a_whole_side() -> None:
    rules = next(r for r in service.rule_sets() if r.code == "MOSCOW-REDUCTION-1997")
    from indivisible.cbm.models import AnnualData

    def data(state: str, sector: str, count: int) -> AnnualData:
        return AnnualData(rule_set=rules.code, state_code=state, year=2026,
                          holdings=[{"sector": sector, "category": "personnel", "count": count}])  # fmt: skip

    parties = {"CHN": "china", "KAZ": "joint-party", "KGZ": "joint-party", "RUS": "joint-party", "TJK": "joint-party"}  # fmt: skip
    # Art. 5.1: the Joint Party's four states together, 11,000 in the western sector.
    annual = [
        data("KAZ", "west", 6000),
        data("KGZ", "west", 3000),
        data("TJK", "west", 2500),
        data("RUS", "east", 1),
    ]
    checks = compliance.ceilings(rules, parties, annual)
    west = next(c for c in checks if c.rule == "art-5.1-west" and c.side == "joint-party")
    assert (west.holding, west.limit, west.outcome) == (11500, 11000, "exceeded")
    china = next(c for c in checks if c.rule == "art-5.1-west" and c.side == "china")
    assert china.outcome == "no-data" and china.missing == ["CHN"]
