"""Input and output shapes of accounts and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from indivisible.auth.principal import Role
from indivisible.schemas import Input

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,79}$"


class PrincipalCreate(Input):
    username: str = Field(pattern=USERNAME_PATTERN)
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    state: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    body: str | None = Field(default=None, max_length=40)
    # Omitted for machine accounts, which use tokens only.
    password: str | None = Field(default=None, min_length=10, max_length=200)


class PrincipalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    state_code: str | None
    body_code: str | None
    active: bool


class TokenCreate(Input):
    name: str = Field(min_length=1, max_length=120)
    # Every token expires: a forgotten token must not stay valid for ever.
    expires_in_days: int = Field(default=90, ge=1, le=3650)


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenIssued(TokenRead):
    """Returned once, at creation: the only time the secret is shown."""

    token: str
