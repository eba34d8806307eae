"""REST routes for reading the change log and holding the node to it: signed tree heads and\nRFC 9162 proofs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from indivisible.audit import ledger, service
from indivisible.audit.schemas import ChangeRead, ConsistencyProof, InclusionProof, TreeHeadRead
from indivisible.deps import CurrentActor, DbSession
from indivisible.errors import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1/changes", tags=["audit"], responses=PROBLEM_RESPONSES)
log_router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=PROBLEM_RESPONSES)

# Positions and sizes are 32-bit integers in the database.
Position = Annotated[int, Query(ge=0, le=2_147_483_647)]


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


@log_router.get("/tree-head", response_model=TreeHeadRead)
def tree_head(session: DbSession, actor: CurrentActor) -> TreeHeadRead:
    """The newest signed tree head: keep it, and later ask for a consistency proof from it."""
    return TreeHeadRead.model_validate(ledger.head_json(service.latest_tree_head(session, actor)))


@log_router.get("/tree-heads", response_model=list[TreeHeadRead])
def tree_heads(
    session: DbSession,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[TreeHeadRead]:
    """Signed tree heads, largest first."""
    heads = service.tree_heads(session, actor, limit=limit)
    return [TreeHeadRead.model_validate(ledger.head_json(h)) for h in heads]


@log_router.get("/proofs/consistency", response_model=ConsistencyProof)
def consistency_proof(
    session: DbSession, actor: CurrentActor, first: Position, second: Position
) -> ConsistencyProof:
    """That the log of ``first`` entries is a prefix of the log of ``second`` entries
    (RFC 9162, 2.1.4): nothing seen before was changed or removed."""
    path = service.consistency_proof(session, actor, first, second)
    return ConsistencyProof(first=first, second=second, path=path)


@log_router.get("/proofs/inclusion", response_model=InclusionProof)
def inclusion_proof(
    session: DbSession, actor: CurrentActor, seq: Position, tree_size: Position
) -> InclusionProof:
    """That entry ``seq`` is in the log of ``tree_size`` entries (RFC 9162, 2.1.3), for an
    entry the caller may read in the change log."""
    row, path = service.inclusion_proof(session, actor, seq, tree_size)
    return InclusionProof(
        entry=ChangeRead.model_validate(row),
        leaf_index=seq,
        tree_size=tree_size,
        leaf_hash=row.entry_hash or "",
        path=path,
    )
