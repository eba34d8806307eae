"""Closed vocabularies of the registry, shared by tables, schemas and the data-file format."""

from __future__ import annotations

from enum import StrEnum


class MembershipStatus(StrEnum):
    member = "member"
    observer = "observer"
    dialogue_partner = "dialogue-partner"
    partner = "partner"
    suspended = "suspended"
    frozen = "frozen"
    withdrawn = "withdrawn"


# Statuses in which a state is attached to an organisation but does not take part.
INACTIVE_STATUSES = frozenset({MembershipStatus.suspended, MembershipStatus.frozen})


class OrganisationKind(StrEnum):
    regional_organisation = "regional-organisation"
    military_alliance = "military-alliance"
    economic_union = "economic-union"
    forum = "forum"
    universal_organisation = "universal-organisation"
    informal_group = "informal-group"


class BodyKind(StrEnum):
    secretariat = "secretariat"
    anti_terrorist_structure = "anti-terrorist-structure"
    anti_drug_centre = "anti-drug-centre"
    collective_force = "collective-force"
    staff = "staff"
    council = "council"
    centre = "centre"
    other = "other"


class AgreementKind(StrEnum):
    treaty = "treaty"
    charter = "charter"
    convention = "convention"
    agreement = "agreement"
    declaration = "declaration"
    protocol = "protocol"


class ObligationKind(StrEnum):
    mutual_assistance = "mutual-assistance"
    consultation = "consultation"
    confidence_building = "confidence-building"
    non_aggression = "non-aggression"
    counter_terrorism = "counter-terrorism"
    arms_reduction = "arms-reduction"
    information_exchange = "information-exchange"
    non_alignment_against_parties = "non-alignment-against-parties"
    other = "other"


class DatePrecision(StrEnum):
    day = "day"
    month = "month"
    year = "year"
