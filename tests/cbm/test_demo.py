"""The demonstration year: loaded once, checked by the shipped rules, and the compliance report
shows the cases it was made for."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor, Role
from indivisible.cbm import compliance, demo, geography
from indivisible.cbm.models import Notification
from indivisible.i18n import translations

SIDES = [("CHN", "KAZ"), ("CHN", "KGZ"), ("CHN", "RUS"), ("CHN", "TJK")]


def test_demo_points_lie_in_their_states_and_in_the_zone() -> None:
    for state, (lon, lat) in demo.NEAR_CHINA.items():
        area = geography.Area.circle(lon, lat, 15)
        assert geography.in_territories(geography.Area.circle(lon, lat), [state]).inside, state
        assert geography.in_border_zone(area, SIDES, 100).inside, state


def test_the_demo_year_shows_what_it_was_made_for(db: Session) -> None:
    assert demo.create_demo_cbm(db) == len(demo.NOTIFICATIONS)
    # Loading again changes nothing.
    assert demo.create_demo_cbm(db) == 0
    assert db.scalar(select(func.count()).select_from(Notification)) == len(demo.NOTIFICATIONS)

    kaz = Actor(label="test", role=Role.analyst, state_code="KAZ")
    shanghai = compliance.report(db, kaz, "SHANGHAI-CBM-1996", demo.DEMO_YEAR)
    states = {s.state: s for s in shanghai.states}
    # Over the Art. 6.1 and 6.2 thresholds without inviting every other party.
    assert len(states["RUS"].observers_not_invited) == 1
    assert len(states["TJK"].observers_not_invited) == 1
    assert states["CHN"].observers_not_invited == []
    assert (states["TJK"].open_clarifications, states["TJK"].overdue_clarifications) == (1, 1)
    assert states["RUS"].open_clarifications == 0

    moscow = compliance.report(db, kaz, "MOSCOW-REDUCTION-1997", demo.DEMO_YEAR)
    outcomes = {(c.rule, c.side): (c.outcome, c.holding) for c in moscow.ceilings}
    assert outcomes[("art-5.1-west", "joint-party")] == ("exceeded", 11600)
    assert outcomes[("art-5.1-total", "joint-party")] == ("held", 116600)
    assert outcomes[("art-6-tanks", "joint-party")] == ("held", 3810)
    assert all(s.annual_data for s in moscow.states)
    used = {(q.rule, q.receiving_state): (q.used, q.refused) for q in moscow.quotas}
    assert used[("verification-ii-after", "CHN")] == (1, 1)
    assert used[("verification-ii-after", "KAZ")] == (1, 0)


@pytest.mark.parametrize(
    ("lang", "title", "exceeded", "state"),
    [("en", "Compliance", "exceeded", "State"), ("ru", "Соблюдение", "превышен", "Государство"),
     ("zh", "遵约情况", "超出", "国家")],
)  # fmt: skip
def test_the_pdf_report_says_it_in_each_language(
    db: Session, lang: str, title: str, exceeded: str, state: str
) -> None:
    demo.create_demo_cbm(db)
    kaz = Actor(label="test", role=Role.liaison, state_code="KAZ")
    found = compliance.report(db, kaz, "MOSCOW-REDUCTION-1997", demo.DEMO_YEAR)
    pdf = compliance.as_pdf(found, translations(lang).gettext, lang)
    assert pdf.startswith(b"%PDF-")
    # The same report gives the same bytes.
    assert compliance.as_pdf(found, translations(lang).gettext, lang) == pdf
    text = " ".join(
        "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split()
    )
    assert title in text and exceeded in text and state in text
    assert "11,600" in text and "11,000" in text
