"""Input and output shapes of accounts and tokens."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from indivisible.auth.principal import Role
from indivisible.schemas import Input, StoredMoment

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
    created_at: StoredMoment
    expires_at: StoredMoment | None
    revoked_at: StoredMoment | None
    last_used_at: StoredMoment | None


class TokenIssued(TokenRead):
    """Returned once, at creation: the only time the secret is shown."""

    token: str


class KeyCreate(Input):
    """A public key for signing your state's submissions: base64 of the 32 raw bytes, or a
    PEM SubjectPublicKeyInfo (``indivisible keys generate`` prints both)."""

    public_key: str = Field(min_length=40, max_length=400)


class KeyEnd(Input):
    """Retire (rotation: signatures made before still verify) or revoke (compromise)."""

    reason: str = Field(min_length=1, max_length=2000)


class KeyRead(BaseModel):
    id: str
    state: str
    public_key: str
    valid_from: StoredMoment
    valid_to: StoredMoment | None
    revoked_at: StoredMoment | None
    revocation_reason: str | None
    # Where the operator adopted it from; null when the state registered it on this node.
    adopted_from: str | None = None


class DetachedSignature(Input):
    key_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    algorithm: Literal["ed25519-jcs"] = "ed25519-jcs"
    signature: str = Field(min_length=40, max_length=200)


class SignatureCheck(Input):
    """Whether a state signed a document with a key registered and valid when it was
    signed."""

    state: str = Field(pattern=r"^[A-Z]{3}$")
    document: dict[str, Any]
    signature: DetachedSignature
    signed_at: AwareDatetime


class SignatureVerdict(BaseModel):
    valid: bool
    # ok | unknown_key | other_state | adopted | not_yet_valid | retired | revoked | bad_signature
    reason: str
    key_id: str
    state: str


class SubmissionSignatureIn(Input):
    """A state's signature over this submission (docs/operator.md, "Signed submissions"):
    Ed25519 over the RFC 8785 form of ``{"type", "state", "signed_at", "content"}``, where
    content is the request body as sent, without this member."""

    key_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    algorithm: Literal["ed25519-jcs"] = "ed25519-jcs"
    signed_at: AwareDatetime
    signature: str = Field(min_length=40, max_length=120)


class SubmissionSignatureRead(BaseModel):
    """Who signed a submission and with which key; everything needed to check it offline
    (``indivisible keys verify-item``). ``signed`` false marks an unsigned submission."""

    signed: bool
    state: str
    received_at: StoredMoment
    key_id: str | None = None
    public_key: str | None = None
    algorithm: str | None = None
    signed_at: StoredMoment | None = None
    signature: str | None = None
    document: dict[str, Any] | None = None
