"""The CBM rule-set format (docs/cbm.md): one YAML file describes one regime.

Every number a rule uses is a ``Cited`` value: the number, the article or paragraph it comes
from and the source that text was read in. Where the text sets a number that could not be read,
the file says ``unknown: true`` with the citation instead of a value, and the engine reports
the gap rather than deciding on an invented figure. Unknown fields, a number without a
citation, or a citation of a source the file does not list are refused with the field named.

Run ``python -m indivisible.cbm.ruleset FILE...`` to check files without a database.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from indivisible.i18n import _
from indivisible.registry.datafile import Entry, FileProblem, Names, SourceEntry, load_yaml

FORMAT = "indivisible-cbm/1"
RULES_DIR = Path(__file__).parent / "rules"


class Category(StrEnum):
    """Forces as the agreements count them."""

    personnel = "personnel"
    battle_tanks = "battle-tanks"
    armoured_combat_vehicles = "armoured-combat-vehicles"
    artillery = "artillery"
    combat_aircraft = "combat-aircraft"
    combat_helicopters = "combat-helicopters"
    aircraft_sorties = "aircraft-sorties"
    airborne_troops = "airborne-troops"
    amphibious_troops = "amphibious-troops"
    border_troops = "border-troops"


class ActivityKind(StrEnum):
    exercise = "exercise"
    transfer = "transfer"
    concentration = "concentration"
    alert = "alert"
    river_ship_entry = "river-ship-entry"


class Cited(Entry):
    """A number taken from the agreement's text."""

    # Finite: .inf or .nan would make every comparison with the number come out one way.
    value: float | None = Field(default=None, allow_inf_nan=False)
    # The text sets this number, but it could not be read: no value is encoded.
    unknown: bool = False
    cite: str = Field(min_length=1, description="The article or paragraph, e.g. 'Art. 6.1'.")
    source: str = Field(min_length=1, description="A key of the file's sources.")
    # verified: read in the source named; secondary: a secondary source gives it.
    status: Literal["verified", "secondary"] = "verified"
    note: str | None = None

    @model_validator(mode="after")
    def _value_or_unknown(self) -> Cited:
        if (self.value is None) != self.unknown:
            raise ValueError("give a value, or unknown: true where the text could not be read")
        if self.value is not None and self.value < 0:
            raise ValueError("a number in a rule is never negative")
        return self


class Threshold(Entry):
    category: Category
    at_least: Cited


class Trigger(Entry):
    """Met when any of the thresholds is reached."""

    any_of: list[Threshold] = Field(min_length=1)


class Area(Entry):
    """Where the regime applies: a zone on each side of named borders, or whole territories."""

    kind: Literal["border-zone", "territories"]
    depth_km: Cited | None = None
    borders: list[tuple[str, str]] = Field(default_factory=list)
    states: list[str] = Field(default_factory=list)
    cite: str = Field(min_length=1)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> Area:
        if self.kind == "border-zone" and (self.depth_km is None or not self.borders):
            raise ValueError("a border zone needs depth_km and borders")
        if self.kind == "territories" and not self.states:
            raise ValueError("an area of territories lists its states")
        return self


class Rule(Entry):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9.-]*$")
    cite: str = Field(min_length=1)
    source: str = Field(min_length=1)
    note: str | None = None


# What a notification must say, beyond its kind, dates and location (which it always has).
Content = Literal["purpose", "forces", "observers-invited"]


class NotificationRule(Rule):
    activities: list[ActivityKind] = Field(min_length=1)
    # None: every covered activity is notified, whatever its size.
    trigger: Trigger | None = None
    notice_days: Cited
    content: list[Content] = Field(default_factory=list)


class ObservationRule(Rule):
    trigger: Trigger
    obligation: Literal["invite", "mutual-invite", "voluntary"]
    # Beyond the area of application too (e.g. the 1996 agreement's Art. 6.3).
    beyond_area: bool = False
    invitation_days_before: Cited | None = None
    reply_days_before_arrival: Cited | None = None
    max_observers: Cited | None = None


class ConstraintRule(Rule):
    trigger: Trigger
    max_activities: Cited
    period_years: int = Field(default=1, ge=1)


class Ceiling(Rule):
    """A limit on forces in the area, for a side of the agreement or a state, in a sector."""

    side: str | None = None
    state: str | None = None
    sector: str | None = None
    category: Category
    limit: Cited


class Quota(Rule):
    kind: Literal["inspection", "evaluation-visit"]
    per_year: Cited
    per_requesting_state: Cited | None = None
    sector: str | None = None
    # Only in this period ("reduction"), or always when empty.
    during: str | None = None


class Clarification(Rule):
    reply_days: Cited | None = None
    urgent_reply_days: Cited | None = None
    reply_hours: Cited | None = None


class AnnualExchange(Rule):
    """The annual information exchange: what is sent and by when."""

    # Month and day, e.g. "12-15", in the data's year plus year_offset (-1: the year before).
    due: str = Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
    year_offset: int = Field(default=0, ge=-1, le=0)
    # The categories exchanged; empty: any.
    categories: list[Category] = Field(default_factory=list)

    @model_validator(mode="after")
    def _real_day(self) -> AnnualExchange:
        month, day = (int(part) for part in self.due.split("-"))
        try:
            date(2001, month, day)
        except ValueError:
            raise ValueError(f"{self.due} is not a day of every year") from None
        return self

    def due_for(self, year: int) -> date:
        month, day = (int(part) for part in self.due.split("-"))
        return date(year + self.year_offset, month, day)


class Gap(Entry):
    """Something the regime requires that this file does not encode, and why."""

    topic: str = Field(min_length=1)
    cite: str = Field(min_length=1)
    note: str = Field(min_length=1)


class RuleSet(Entry):
    format: Literal["indivisible-cbm/1"]
    code: str = Field(min_length=1, pattern=r"^[A-Z0-9][A-Z0-9-]*$")
    # The registry agreement whose parties (and sides) on a date this regime binds.
    agreement: str = Field(min_length=1)
    title: Names
    version: int = Field(ge=1)
    sources: dict[str, SourceEntry] = Field(min_length=1)
    area: Area
    activities: list[ActivityKind] = Field(min_length=1)
    notification: list[NotificationRule] = Field(default_factory=list)
    observation: list[ObservationRule] = Field(default_factory=list)
    constraints: list[ConstraintRule] = Field(default_factory=list)
    ceilings: list[Ceiling] = Field(default_factory=list)
    quotas: list[Quota] = Field(default_factory=list)
    clarification: Clarification | None = None
    annual_exchange: AnnualExchange | None = None
    gaps: list[Gap] = Field(default_factory=list)

    @model_validator(mode="after")
    def _sources_exist(self) -> RuleSet:
        missing = sorted({source for source in _cited_sources(self) if source not in self.sources})
        if missing:
            raise ValueError(f"cites sources the file does not list: {', '.join(missing)}")
        return self


def _cited_sources(rules: RuleSet) -> list[str]:
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, Cited | Rule | Area):
            found.append(value.source)
        if isinstance(value, Entry):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(rules.model_copy(update={"sources": {}}))
    return found


def parse_text(text: str, name: str) -> tuple[RuleSet | None, list[FileProblem]]:
    raw, problem = load_yaml(text, name)
    if problem is not None:
        return None, [problem]
    try:
        return RuleSet.model_validate(raw), []
    except ValidationError as exc:
        return None, [
            FileProblem(name, ".".join(str(p) for p in err["loc"]) or "file", err["msg"])
            for err in exc.errors()
        ]


def parse_file(path: Path) -> tuple[RuleSet | None, list[FileProblem]]:
    """A rule-set file, read and parsed; a file that cannot be read is a problem of its own."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [
            FileProblem(str(path), "file", _("cannot be read: {error}").format(error=exc))
        ]
    return parse_text(text, str(path))


def shipped_paths() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yaml"))


def paths_in(directories: Sequence[Path]) -> list[Path]:
    """The shipped rule-set files, then those in the operator's directories, in name order."""
    found = shipped_paths()
    for directory in directories:
        if not directory.is_dir():
            raise ValueError(f"{directory}: no such directory of CBM rule sets")
        found.extend(sorted(directory.glob("*.yaml")))
    return found


def load_shipped() -> list[RuleSet]:
    """The rule sets shipped with the platform; a broken one is a bug, so it raises."""
    return load_from([])


def load_from(directories: Sequence[Path]) -> list[RuleSet]:
    """The shipped rule sets and those of the operator's directories (INDIVISIBLE_CBM_RULES).

    The node refuses to start on a broken file or two files of one code, naming the file,
    rather than run with a regime silently missing.
    """
    found: dict[str, RuleSet] = {}
    for path in paths_in(directories):
        rules, problems = parse_file(path)
        if rules is None:
            raise ValueError("; ".join(str(p) for p in problems))
        if rules.code in found:
            raise ValueError(f"{path}: a rule set with code {rules.code} is loaded already")
        found[rules.code] = rules
    return list(found.values())


def main(argv: list[str]) -> int:
    status = 0
    for arg in argv or [str(p) for p in shipped_paths()]:
        _rules, problems = parse_file(Path(arg))
        for problem in problems:
            print(problem, file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
