"""The reference-data file format (docs/data.md): parsing, validation and conversion to service inputs.

Run ``python -m indivisible.registry.datafile FILE...`` to check files without a database.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from indivisible.i18n import _
from indivisible.registry.enums import (
    AgreementKind,
    BodyKind,
    DatePrecision,
    MembershipStatus,
    ObligationKind,
    OrganisationKind,
)

FORMAT = "indivisible-registry/1"
DATA_DIR = Path(__file__).parent / "data"
_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


@dataclass(frozen=True)
class FuzzyDate:
    """A date known to the day, the month or the year; stored as its first day."""

    day: date
    precision: DatePrecision


def parse_fuzzy(value: Any) -> Any:
    if value is None or isinstance(value, FuzzyDate):
        return value
    if isinstance(value, date):
        return FuzzyDate(value, DatePrecision.day)
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not (m := _DATE.match(value.strip())):
        raise ValueError("a date is written YYYY-MM-DD, YYYY-MM or YYYY")
    year, month, day = m.group(1), m.group(2), m.group(3)
    precision = DatePrecision.day if day else DatePrecision.month if month else DatePrecision.year
    return FuzzyDate(date(int(year), int(month or 1), int(day or 1)), precision)


Fuzzy = Annotated[FuzzyDate, BeforeValidator(parse_fuzzy)]


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)


class Fact(Entry):
    # Empty is allowed here so that one unsourced fact is refused on its own, not the whole file.
    sources: list[str] = []
    uncertain: str | None = None
    note: str | None = None


class SourceEntry(Entry):
    title: str
    publisher: str | None = None
    url: str | None = None
    reference: str | None = None
    accessed: Fuzzy
    note: str | None = None


class Names(Entry):
    en: str
    ru: str | None = None
    zh: str | None = None


class Seat(Entry):
    state: str | None = None
    city: str | None = None


class BodyEntry(Fact):
    code: str
    name: Names
    kind: BodyKind
    seat: Seat | None = None
    established: Fuzzy | None = None
    abolished: Fuzzy | None = None


class MembershipEntry(Fact):
    state: str
    status: MembershipStatus
    from_: Fuzzy = Field(alias="from")
    to: Fuzzy | None = None


class OrganisationEntry(Fact):
    code: str
    name: Names
    abbreviation: Names | None = None
    kind: OrganisationKind
    founded: Fuzzy | None = None
    dissolved: Fuzzy | None = None
    succeeded_by: str | None = None
    seat: Seat | None = None
    bodies: list[BodyEntry] = []
    memberships: list[MembershipEntry] = []


class ExtensionEntry(Fact):
    signed: Fuzzy | None = None
    until: Fuzzy | None = None


class PartyEntry(Fact):
    state: str | None = None
    members_of: str | None = None
    side: str | None = None
    statuses: list[MembershipStatus] = [MembershipStatus.member]
    from_: Fuzzy | None = Field(default=None, alias="from")
    to: Fuzzy | None = None


class ObligationEntry(Fact):
    kind: ObligationKind
    article: str
    summary: str


class AgreementEntry(Fact):
    code: str
    title: Names
    kind: AgreementKind
    signed: Fuzzy | None = None
    signed_at: str | None = None
    in_force: Fuzzy | None = None
    expires: Fuzzy | None = None
    extensions: list[ExtensionEntry] = []
    organisation: str | None = None
    parties: list[PartyEntry] = []
    obligations: list[ObligationEntry] = []

    def effective_expiry(self) -> date | None:
        """The day the agreement stops binding, after its extensions (None: indefinite)."""
        if self.extensions:
            last = self.extensions[-1].until
            return last.day if last else None
        return self.expires.day if self.expires else None


class BorderEntry(Fact):
    states: tuple[str, str]
    length_km: float | None = None


class DataFile(Entry):
    format: Literal["indivisible-registry/1"]
    sources: dict[str, SourceEntry] = {}
    organisations: list[OrganisationEntry] = []
    agreements: list[AgreementEntry] = []
    borders: list[BorderEntry] = []


@dataclass
class FileProblem:
    path: str
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.location}: {self.message}"


@dataclass
class ParsedFiles:
    files: list[tuple[str, DataFile]] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)


class _StrictLoader(yaml.SafeLoader):
    """YAML's last-wins on a repeated key would hide a fact; we refuse the file instead."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)
        try:
            hash(key)
        except TypeError:
            # YAML allows a list or a mapping as a key ("? [a, b]"); no file of ours has one.
            raise yaml.constructor.ConstructorError(
                None, None, _("a key may not be a list or a mapping"), key_node.start_mark
            ) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} appears twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


ScalarConstructor = Callable[[yaml.SafeLoader, yaml.ScalarNode], Any]


def _or_refused(construct: ScalarConstructor) -> ScalarConstructor:
    """PyYAML raises a bare ValueError, without the place, for a timestamp that is no day
    (2001-02-30) or an integer too long for Python to convert; this refuses them where
    they are written, as every other YAML error is."""

    def refusing(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        try:
            return construct(loader, node)
        except ValueError as exc:
            message = _("{value} cannot be read: {error}").format(value=node.value[:40], error=exc)
            raise yaml.constructor.ConstructorError(None, None, message, node.start_mark) from None

    return refusing


_StrictLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", _or_refused(yaml.SafeLoader.construct_yaml_timestamp)
)
_StrictLoader.add_constructor(
    "tag:yaml.org,2002:int", _or_refused(yaml.SafeLoader.construct_yaml_int)
)


def load_yaml(text: str, name: str) -> tuple[Any, FileProblem | None]:
    """YAML with safe types only and no repeated keys (the CBM rule sets and the crisis
    scenarios use it too)."""
    try:
        return yaml.load(text, Loader=_StrictLoader), None  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        return None, FileProblem(name, "yaml", str(exc).replace("\n", " "))
    except RecursionError:
        # PyYAML composes nested collections recursively: thousands of levels exhaust the stack.
        return None, FileProblem(name, "yaml", _("nested too deeply to read"))


def parse_text(text: str, name: str) -> tuple[DataFile | None, list[FileProblem]]:
    raw, problem = load_yaml(text, name)
    if problem is not None:
        return None, [problem]
    try:
        return DataFile.model_validate(raw), []
    except ValidationError as exc:
        return None, [
            FileProblem(name, ".".join(str(p) for p in err["loc"]) or "file", err["msg"])
            for err in exc.errors()
        ]


def data_paths(directory: Path = DATA_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


MAX_IDENTITY = 500


def file_identity(path: Path) -> str:
    """What a loaded fact records as its origin: the shipped files by name, any other file by its
    full path, so that an operator's own ``sco.yaml`` never stands for the shipped one."""
    resolved = path.resolve()
    if resolved.parent == DATA_DIR.resolve():
        return f"indivisible:{resolved.name}"
    return str(resolved)


def parse_files(paths: list[Path]) -> ParsedFiles:
    parsed = ParsedFiles()
    seen: set[str] = set()
    for path in paths:
        identity = file_identity(path)
        if identity in seen:
            continue
        seen.add(identity)
        if len(identity) > MAX_IDENTITY:
            message = f"the file's path is longer than {MAX_IDENTITY} characters"
            parsed.problems.append(FileProblem(identity[:80] + "…", "file", message))
            continue
        data, problems = parse_text(path.read_text(encoding="utf-8"), identity)
        parsed.problems.extend(problems)
        if data is not None:
            parsed.files.append((identity, data))
    return parsed


def main(argv: list[str]) -> int:
    """Check files: the format only; references between facts are checked by a load."""
    paths = [Path(a) for a in argv] or data_paths()
    parsed = parse_files(paths)
    for problem in parsed.problems:
        print(problem)
    for name, data in parsed.files:
        memberships = sum(len(o.memberships) for o in data.organisations)
        print(
            f"{name}: {len(data.sources)} sources, {len(data.organisations)} organisations, "
            f"{memberships} memberships, {len(data.agreements)} agreements, {len(data.borders)} borders"
        )
    return 1 if parsed.problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
