"""Queries for principals, tokens and sessions."""

from __future__ import annotations

from sqlalchemy import Select, bindparam, select

from indivisible.auth.models import ApiToken, Principal, WebSession
from indivisible.registry.models import Body


def principal_by_username(username: str) -> Select[tuple[Principal]]:
    return select(Principal).where(Principal.username == username)


# Every API request asks this, so it is built once, with the digest as a bound parameter
# (``token_hash``), and reads plain columns: building the statement and two tracked objects
# cost more than the query (benchmarks/README.md, "The cost of every request").
TOKEN_BY_HASH = (
    select(
        ApiToken.id,
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        Principal.id.label("principal_id"),
        Principal.username,
        Principal.role,
        Principal.state_code,
        Principal.body_code,
        Principal.active,
        Body.organisation_code,
    )
    .join(Principal, Principal.id == ApiToken.principal_id)
    .outerjoin(Body, Body.code == Principal.body_code)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def tokens_of(principal_id: int) -> Select[tuple[ApiToken]]:
    return select(ApiToken).where(ApiToken.principal_id == principal_id).order_by(ApiToken.id)


def session_by_hash(session_hash: str) -> Select[tuple[WebSession, Principal]]:
    return (
        select(WebSession, Principal)
        .join(Principal, Principal.id == WebSession.principal_id)
        .where(WebSession.session_hash == session_hash)
    )
