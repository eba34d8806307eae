"""Output shape of change records."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from indivisible.schemas import StoredMoment


class ChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: StoredMoment
    actor: str
    action: str
    subject_type: str
    subject_key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    seq: int | None = Field(
        description="The entry's position in the audit log; null until it is sealed."
    )
    prev_hash: str | None
    entry_hash: str | None


class TreeHeadRead(BaseModel):
    """A signed tree head, as members keep it (docs/operator.md, "Audit log")."""

    log: str
    tree_size: int
    root_hash: str
    timestamp: str = Field(description="RFC 3339 in UTC, exactly the text that is signed.")
    key_id: str
    public_key: str
    algorithm: str
    signature: str


class InclusionProof(BaseModel):
    entry: ChangeRead
    leaf_index: int
    tree_size: int
    leaf_hash: str
    path: list[str] = Field(description="RFC 9162 inclusion path, hex, leaf to root.")


class ConsistencyProof(BaseModel):
    first: int
    second: int
    path: list[str] = Field(description="RFC 9162 consistency proof, hex.")
