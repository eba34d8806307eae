"""REST routes of the sharing domain (TAXII has its own, in sharing/taxii.py)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path

from indivisible.deps import CurrentActor, DbSession
from indivisible.errors import PROBLEM_RESPONSES
from indivisible.sharing import service
from indivisible.sharing.schemas import CorrelationRead

router = APIRouter(prefix="/api/v1/sharing", tags=["sharing"], responses=PROBLEM_RESPONSES)


@router.get("/objects/{stix_id}/correlations", response_model=list[CorrelationRead])
def correlations(
    session: DbSession,
    actor: CurrentActor,
    stix_id: Annotated[str, Path(max_length=300, description="A STIX object's id.")],
) -> list[CorrelationRead]:
    """Reports from other states that carry a value this object carries (an address, network,
    domain, URL, e-mail address or file hash), among the objects you may see."""
    return [CorrelationRead(**asdict(c)) for c in service.correlations(session, actor, stix_id)]
