"""Who is acting: a principal of the node, or an operator at the console."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    secretariat = "secretariat"
    liaison = "liaison"
    analyst = "analyst"
    observer = "observer"
    # A linked node's machine account: it reads only what may leave this node over a federation
    # link, and what it posts is recorded as received from that node.
    node = "node"


@dataclass(frozen=True)
class Actor:
    """The identity a service acts for; services never look at HTTP to find it."""

    label: str
    role: Role
    principal_id: int | None = None
    state_code: str | None = None
    body_code: str | None = None
    # The organisation the principal's body belongs to, resolved at authentication.
    organisation_code: str | None = None

    @classmethod
    def console(cls, command: str) -> Actor:
        """An operator at the node's own console has full rights, like the Unix owner of the files."""
        return cls(label=f"cli:{command}", role=Role.admin)
