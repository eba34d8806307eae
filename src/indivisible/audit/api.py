"""REST route for reading the change log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from indivisible.audit import service
from indivisible.audit.schemas import ChangeRead
from indivisible.deps import CurrentActor, DbSession
from indivisible.errors import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1/changes", tags=["audit"], responses=PROBLEM_RESPONSES)


@router.get("", response_model=list[ChangeRead])
def list_changes(
    session: DbSession,
    actor: CurrentActor,
    subject_type: Annotated[str | None, Query(max_length=30)] = None,
    subject_key: Annotated[str | None, Query(max_length=120)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ChangeRead]:
    """Who changed what and when, with the state before and after; newest first (admins see
    everything, secretariats the registry's history)."""
    rows = service.list_changes(
        session,
        actor,
        subject_type=subject_type,
        subject_key=subject_key,
        before_id=before_id,
        limit=limit,
    )
    return [ChangeRead.model_validate(r) for r in rows]
