"""REST routes for the caller's identity, API tokens and (for admins) accounts."""

from __future__ import annotations

from fastapi import APIRouter

from indivisible.auth import service
from indivisible.auth.schemas import (
    PrincipalCreate,
    PrincipalRead,
    TokenCreate,
    TokenIssued,
    TokenRead,
)
from indivisible.deps import CurrentActor, DbSession, RowId
from indivisible.errors import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=PROBLEM_RESPONSES)


@router.get("/me")
def me(actor: CurrentActor) -> dict[str, str | None]:
    """Who the credentials belong to: principal, role, state or body."""
    return {
        "principal": actor.label,
        "role": actor.role.value,
        "state": actor.state_code,
        "body": actor.body_code,
        "organisation": actor.organisation_code,
    }


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(session: DbSession, actor: CurrentActor) -> list[TokenRead]:
    """The caller's API tokens (never their secrets)."""
    return [TokenRead.model_validate(t) for t in service.list_tokens(session, actor)]


@router.post("/tokens", response_model=TokenIssued, status_code=201)
def create_token(data: TokenCreate, session: DbSession, actor: CurrentActor) -> TokenIssued:
    """The secret is in this response only; the node keeps its digest."""
    issued = service.issue_token(session, actor, data)
    return TokenIssued.model_validate(
        {**TokenRead.model_validate(issued.token).model_dump(), "token": issued.secret}
    )


@router.delete("/tokens/{token_id}", response_model=TokenRead)
def revoke_token(token_id: RowId, session: DbSession, actor: CurrentActor) -> TokenRead:
    """Revoke one of the caller's tokens (admins: any token)."""
    return TokenRead.model_validate(service.revoke_token(session, actor, token_id))


@router.get("/principals", response_model=list[PrincipalRead])
def list_principals(session: DbSession, actor: CurrentActor) -> list[PrincipalRead]:
    """Every account on the node (admins only)."""
    return [PrincipalRead.model_validate(p) for p in service.list_principals(session, actor)]


@router.post("/principals", response_model=PrincipalRead, status_code=201)
def create_principal(
    data: PrincipalCreate, session: DbSession, actor: CurrentActor
) -> PrincipalRead:
    """Create an account acting for one state or one organisation body (admins only)."""
    return PrincipalRead.model_validate(service.create_principal(session, actor, data))
