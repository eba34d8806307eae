"""The January 2022 Kazakhstan scenario replayed through the API as the six states and the
CSTO secretariat would have entered it, on both databases; the measures the platform
computes are checked against the moments written in the scenario file."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indivisible.audit.models import ChangeRecord
from indivisible.cbm.models import CbmEvent
from indivisible.crisis import scenario as scenarios
from indivisible.crisis.scenario import CloseStep, DeploymentStep, RequestStep
from tests.crisis.conftest import KAZAKHSTAN


def minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def steps(kind: str) -> list[DeploymentStep]:
    return [s for s in KAZAKHSTAN.steps if isinstance(s, DeploymentStep) and s.step == kind]


def first_per_contingent(kind: str) -> dict[str, DeploymentStep]:
    found: dict[str, DeploymentStep] = {}
    for s in steps(kind):
        if s.contingent not in found or s.at < found[s.contingent].at:
            found[s.contingent] = s
    return found


def test_the_measures_follow_from_the_dates_in_the_scenario_file(
    client: TestClient, replayed: tuple[int, dict[str, dict[str, str]]]
) -> None:
    crisis_id, headers = replayed
    answer = client.get(f"/api/v1/crisis/crises/{crisis_id}/measures", headers=headers["KAZ"])
    assert answer.status_code == 200, answer.text
    m = answer.json()

    request = next(s for s in KAZAKHSTAN.steps if isinstance(s, RequestStep))
    close = next(s for s in KAZAKHSTAN.steps if isinstance(s, CloseStep))
    arrivals = first_per_contingent("arrived")
    first_arrival = min(arrivals.values(), key=lambda s: s.at)
    full = max(arrivals.values(), key=lambda s: s.at)
    first_withdrawal = min(steps("withdrawal-started"), key=lambda s: s.at)
    last_home = max(steps("home"), key=lambda s: s.at)

    def check(span: dict[str, Any], start: Any, end: Any) -> None:
        assert span["minutes"] == minutes(start.moment, end.moment)
        assert span["plus_minus_minutes"] == start.pm + end.pm

    class At:
        def __init__(self, moment: datetime, pm: int) -> None:
            self.moment, self.pm = moment, pm

    requested = At(request.requested_at, request.plus_minus_minutes)
    decided = At(close.decided_at, close.plus_minus_minutes)

    def at(s: DeploymentStep) -> At:
        return At(s.at, s.plus_minus_minutes)

    check(m["request_to_decision"], requested, decided)
    check(m["decision_to_first_arrival"], decided, at(first_arrival))
    check(m["decision_to_full_deployment"], decided, at(full))
    check(m["mission"], at(first_arrival), at(first_withdrawal))
    check(m["withdrawal"], at(first_withdrawal), at(last_home))
    check(m["operation"], at(min(steps("departed"), key=lambda s: s.at)), at(last_home))
    # Each task from the decision to its first takeover, as written in the file.
    takeovers = {
        s.task: s for s in sorted(steps("task-taken-over"), key=lambda s: s.at, reverse=True)
    }
    assert len(m["tasks"]) == len(takeovers) == 6
    operation = client.get(f"/api/v1/crisis/crises/{crisis_id}", headers=headers["KAZ"]).json()
    task_ids = {t["title"]: t["id"] for t in operation["operation"]["tasks"]}
    step_of_task = next(s for s in KAZAKHSTAN.steps if s.step == "operation").tasks
    for measured in m["tasks"]:
        key = next(k for k, t in step_of_task.items() if task_ids[t.title] == measured["task"])
        check(measured["from_decision"], decided, at(takeovers[key]))

    # In the words of the record: asked on the evening of 5 January, first troops on the
    # ground on 6 January, deployment complete on 9 January, the last home on 19 January.
    assert m["decision_to_first_arrival"]["end"].startswith("2022-01-06")
    assert m["decision_to_full_deployment"]["end"].startswith("2022-01-09")
    assert m["withdrawal"]["end"].startswith("2022-01-19")
    assert m["complete"] is True

    # Coherence: the five members other than Kazakhstan all supported, pledged and deployed.
    for share in ("supported", "pledged", "deployed"):
        assert (m[share]["count"], m[share]["of"]) == (5, 5), share
    assert m["eligible"] == ["ARM", "BLR", "KGZ", "RUS", "TJK"]
    # Only Armenia, Kyrgyzstan and Tajikistan reported head counts; Russia and Belarus did not.
    assert m["personnel_deployed"] == {"low": 450, "high": 450, "unreported": ["BLR", "RUS"]}
    assert m["personnel_pledged"] == {"low": 420, "high": 450, "unreported": ["BLR", "RUS"]}
    assert m["pledges_fulfilled"]["low"] == pytest.approx(1.0)
    assert m["pledges_fulfilled"]["high"] == pytest.approx(450 / 420)
    # No planned start or end in the decision; the withdrawal plan of 11 January is there.
    assert m["start_delay_minutes"] is None and m["end_delay_minutes"] is None
    plan = next(s for s in KAZAKHSTAN.steps if s.step == "withdrawal-plan")
    assert m["withdrawal_start_delay_minutes"] == minutes(plan.planned_start, first_withdrawal.at)
    assert m["withdrawal_end_delay_minutes"] == minutes(plan.planned_end, last_home.at)
    assert m["withdrawal_end_delay_minutes"] < 0  # home before the ten days were up


def test_the_replayed_record_keeps_its_sources_and_tells_the_members(
    client: TestClient, db: Session, replayed: tuple[int, dict[str, dict[str, str]]]
) -> None:
    crisis_id, headers = replayed
    crisis = client.get(f"/api/v1/crisis/crises/{crisis_id}", headers=headers["ARM"]).json()
    assert "https://tass.ru/mezhdunarodnaya-panorama/13359529" in crisis["requests"][0]["text"]
    assert crisis["decisions"][0]["result"] == "adopted"
    operation = crisis["operation"]
    assert operation["commander"] == "Colonel-General Andrei Serdyukov"
    assert {c["state"] for c in operation["contingents"]} == {"ARM", "BLR", "KGZ", "RUS", "TJK"}
    assert all(c["status"] == "home" for c in operation["contingents"])
    assert all(
        "Sources:" in (e["note"] or "") for c in operation["contingents"] for e in c["events"]
    )
    assert len(crisis["consultations"]) == 2
    # A state outside the CSTO sees none of it.
    assert (
        client.get(f"/api/v1/crisis/crises/{crisis_id}", headers=headers["USA"]).status_code == 404
    )
    assert client.get("/api/v1/crisis/measures", headers=headers["USA"]).json() == []
    # Every step is in the audit trail, and every member was told of each.
    changes = db.scalar(
        select(func.count())
        .select_from(ChangeRecord)
        .where(
            ChangeRecord.subject_type.in_(
                ["crisis", "crisis_decision", "crisis_operation", "crisis_contingent"]
            )
        )
    )
    assert changes is not None and changes >= len(KAZAKHSTAN.steps)
    rows = db.execute(
        select(CbmEvent.state_code, func.count())
        .where(CbmEvent.kind.like("crisis-%"))
        .group_by(CbmEvent.state_code)
    ).tuples()
    told = dict(rows.all())
    # Uzbekistan's membership is suspended (from 2012), not ended: it is still attached to
    # the organisation, so it is told, though its position would not count.
    assert set(told) == {"ARM", "BLR", "KAZ", "KGZ", "RUS", "TJK", "UZB"}
    assert len(set(told.values())) == 1


def test_a_scenario_with_a_dangling_reference_is_refused_whole(tmp_path: Any) -> None:
    broken = (scenarios.SCENARIOS / "kazakhstan-2022.yaml").read_text(encoding="utf-8")
    broken = broken.replace("sources: [belsat-home]", "sources: [no-such-source]", 1)
    broken = broken.replace("task: chp2,", "task: chp3,", 1)
    path = tmp_path / "broken.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(scenarios.ScenarioError) as refused:
        scenarios.load(path)
    assert "no source no-such-source" in str(refused.value)
    assert "no task chp3" in str(refused.value)
