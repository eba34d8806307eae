"""How a collective body's decision follows from its members' positions, computed, never set.

The rule is consensus among the members whose participation is not frozen or suspended on
the decision's date (the product brief, issue 5), read as the absence of objection: a
decision is adopted when at least one such member is in favour and none is against. An
abstention, a declared lack of interest or silence does not block it, and the position of a
state that is not an active member on that date does not count either way.

Sources (shared/docs/research/csto-decision-rules.md): that CSTO bodies decide by consensus
is reported by the press and analysts (secondary); the only working definition found, "no
official objection from any member", is a Russian foreign ministry reading of Rule 14 of
the 2004 Rules of Procedure (secondary, 2009); Article 12 of the CSTO Charter and the Rules
of Procedure themselves could not be read. No quorum of the Collective Security Council was
found, so none is applied: every outcome says so (``quorum_checked``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Position(StrEnum):
    in_favour = "in-favour"
    against = "against"
    abstain = "abstain"
    not_participating = "not-participating"


class Result(StrEnum):
    adopted = "adopted"
    # At least one eligible member against.
    blocked = "blocked"
    # Nobody eligible in favour (yet).
    not_adopted = "not-adopted"


@dataclass(frozen=True)
class Outcome:
    result: Result
    in_favour: tuple[str, ...]
    against: tuple[str, ...]
    abstaining: tuple[str, ...]
    # Eligible members that stated no position or said they do not take part.
    silent: tuple[str, ...]
    # Positions from states that were not active members on the date: recorded, not counted.
    not_counted: tuple[str, ...]
    # No quorum rule is encoded for the body, so none was checked.
    quorum_checked: bool = False


def consensus(positions: Mapping[str, Position], eligible: Iterable[str]) -> Outcome:
    """The outcome of a decision from the positions stated so far (state code -> position)
    and the members eligible to take part on the decision's date."""
    members = frozenset(eligible)

    def of(kind: Position) -> tuple[str, ...]:
        return tuple(sorted(s for s, p in positions.items() if p is kind and s in members))

    in_favour, against, abstaining = (
        of(Position.in_favour),
        of(Position.against),
        of(Position.abstain),
    )
    spoken = set(in_favour) | set(against) | set(abstaining)
    if against:
        result = Result.blocked
    elif in_favour:
        result = Result.adopted
    else:
        result = Result.not_adopted
    return Outcome(
        result=result,
        in_favour=in_favour,
        against=against,
        abstaining=abstaining,
        silent=tuple(sorted(members - spoken)),
        not_counted=tuple(sorted(s for s in positions if s not in members)),
    )
