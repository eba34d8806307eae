"""REST routes for the caller's identity, API tokens and (for admins) accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from indivisible.auth import keys, service
from indivisible.auth.schemas import (
    KeyCreate,
    KeyEnd,
    KeyRead,
    PrincipalCreate,
    PrincipalRead,
    SignatureCheck,
    SignatureVerdict,
    TokenCreate,
    TokenIssued,
    TokenRead,
)
from indivisible.deps import CurrentActor, DbSession, RowId
from indivisible.errors import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=PROBLEM_RESPONSES)

KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


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


@router.get("/keys", response_model=list[KeyRead])
def list_keys(
    session: DbSession,
    actor: CurrentActor,
    state: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
) -> list[KeyRead]:
    """States' public signing keys with their validity (public: any signed-in principal)."""
    return [keys.read(k) for k in keys.keys(session, state)]


@router.post("/keys", response_model=KeyRead, status_code=201)
def register_key(data: KeyCreate, session: DbSession, actor: CurrentActor) -> KeyRead:
    """Register a public key for your state's signatures, valid from now (liaison officers)."""
    return keys.read(keys.register(session, actor, data))


@router.post("/keys/{key_id}/retire", response_model=KeyRead)
def retire_key(key_id: KeyId, data: KeyEnd, session: DbSession, actor: CurrentActor) -> KeyRead:
    """Rotate a key out: what it signed before now still verifies."""
    return keys.read(keys.end(session, actor, key_id, data, revoke=False))


@router.post("/keys/{key_id}/revoke", response_model=KeyRead)
def revoke_key(key_id: KeyId, data: KeyEnd, session: DbSession, actor: CurrentActor) -> KeyRead:
    """Revoke a compromised key: nothing it signs from now on verifies."""
    return keys.read(keys.end(session, actor, key_id, data, revoke=True))


@router.post("/keys/verify", response_model=SignatureVerdict)
def verify_signature(
    data: SignatureCheck, session: DbSession, actor: CurrentActor
) -> SignatureVerdict:
    """Whether a state signed a document with a key of its own valid at the time given."""
    return keys.check(session, data)
