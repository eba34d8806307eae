"""Queries for principals, tokens and sessions."""

from __future__ import annotations

from sqlalchemy import Select, select

from indivisible.auth.models import ApiToken, Principal, WebSession


def principal_by_username(username: str) -> Select[tuple[Principal]]:
    return select(Principal).where(Principal.username == username)


def token_by_hash(token_hash: str) -> Select[tuple[ApiToken, Principal]]:
    return (
        select(ApiToken, Principal)
        .join(Principal, Principal.id == ApiToken.principal_id)
        .where(ApiToken.token_hash == token_hash)
    )


def tokens_of(principal_id: int) -> Select[tuple[ApiToken]]:
    return select(ApiToken).where(ApiToken.principal_id == principal_id).order_by(ApiToken.id)


def session_by_hash(session_hash: str) -> Select[tuple[WebSession, Principal]]:
    return (
        select(WebSession, Principal)
        .join(Principal, Principal.id == WebSession.principal_id)
        .where(WebSession.session_hash == session_hash)
    )
