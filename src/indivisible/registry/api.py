"""REST routes of the registry: thin wrappers over the service."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from indivisible.deps import CurrentActor, DbSession, RowId
from indivisible.errors import PROBLEM_RESPONSES
from indivisible.registry import service
from indivisible.registry.enums import MembershipStatus
from indivisible.registry.schemas import (
    AgreementCreate,
    AgreementRead,
    AssistanceAnswer,
    BodyCreate,
    BodyRead,
    BorderCreate,
    BorderRead,
    MembershipCreate,
    MembershipRead,
    MembershipUpdate,
    MembersOn,
    OrganisationCreate,
    OrganisationRead,
    Overlap,
    PartiesOn,
    SecurityBelt,
    SourceCreate,
    SourceRead,
    StateRead,
    StateStanding,
    TimelineRow,
)

router = APIRouter(prefix="/api/v1/registry", tags=["registry"], responses=PROBLEM_RESPONSES)

On = Annotated[
    date | None, Query(description="The date the question is asked for (default: today).")
]
Statuses = Annotated[
    list[MembershipStatus] | None, Query(description="Membership statuses to include.")
]


def _day(on: date | None) -> date:
    return on or date.today()


@router.get("/states", response_model=list[StateRead])
def list_states(session: DbSession, actor: CurrentActor) -> list[StateRead]:
    """Every ISO 3166-1 state and territory, with English, Russian and Chinese names."""
    return [StateRead.model_validate(s) for s in service.list_states(session)]


@router.get("/states/{code}", response_model=StateRead)
def get_state(code: str, session: DbSession, actor: CurrentActor) -> StateRead:
    """One state by its ISO alpha-3 code."""
    return StateRead.model_validate(service.get_state(session, code))


@router.get("/states/{code}/standing", response_model=StateStanding)
def state_standing(
    code: str, session: DbSession, actor: CurrentActor, on: On = None
) -> StateStanding:
    """A state's memberships and the agreements binding it on a date."""
    return service.state_standing(session, code, _day(on))


@router.get("/states/{code}/assistance", response_model=AssistanceAnswer)
def assistance(
    code: str, session: DbSession, actor: CurrentActor, on: On = None
) -> AssistanceAnswer:
    """Who is bound to come to the state's aid on a date, under which article, and who only consults."""
    return service.bound_to_assist(session, code, _day(on))


@router.get("/states/{code}/security-belt", response_model=SecurityBelt)
def security_belt(
    code: str, session: DbSession, actor: CurrentActor, on: On = None
) -> SecurityBelt:
    """The state's land neighbours and, for each, the organisations and agreements binding it to the others."""
    return service.security_belt(session, code, _day(on))


@router.get("/states/{code}/borders", response_model=list[BorderRead])
def borders(code: str, session: DbSession, actor: CurrentActor) -> list[BorderRead]:
    """The state's land borders with their length and sources."""
    return service.borders(session, code)


@router.get("/organisations", response_model=list[OrganisationRead])
def list_organisations(session: DbSession, actor: CurrentActor) -> list[OrganisationRead]:
    """Every organisation in the registry, with its sources."""
    return service.list_organisations(session)


@router.post("/organisations", response_model=OrganisationRead, status_code=201)
def create_organisation(
    data: OrganisationCreate, session: DbSession, actor: CurrentActor
) -> OrganisationRead:
    """Add an organisation (admins; a secretariat only its own)."""
    row = service.add_organisation(session, actor, data)
    return service.organisation_detail(session, row.code)


@router.get("/organisations/{code}", response_model=OrganisationRead)
def get_organisation(code: str, session: DbSession, actor: CurrentActor) -> OrganisationRead:
    """One organisation with its sources."""
    return service.organisation_detail(session, code)


@router.get("/organisations/{code}/bodies", response_model=list[BodyRead])
def bodies(code: str, session: DbSession, actor: CurrentActor) -> list[BodyRead]:
    """The organisation's bodies (secretariat, RATS, collective forces...)."""
    return service.bodies_of(session, code)


@router.post("/bodies", response_model=BodyRead, status_code=201)
def create_body(data: BodyCreate, session: DbSession, actor: CurrentActor) -> BodyRead:
    """Add a body to an organisation."""
    row = service.add_body(session, actor, data)
    return service.body_detail(session, row.code)


@router.get("/organisations/{code}/members", response_model=MembersOn)
def members(
    code: str, session: DbSession, actor: CurrentActor, on: On = None, status: Statuses = None
) -> MembersOn:
    """Members of an organisation on a date, by status (default: every status but withdrawn)."""
    return service.members_on(session, code, _day(on), status)


@router.get("/organisations/{code}/timeline", response_model=list[TimelineRow])
def timeline(code: str, session: DbSession, actor: CurrentActor) -> list[TimelineRow]:
    """Every state's periods in the organisation, by state."""
    return service.membership_timeline(session, code)


@router.get("/overlap", response_model=Overlap)
def overlap(
    a: str, b: str, session: DbSession, actor: CurrentActor, on: On = None, status: Statuses = None
) -> Overlap:
    """States in both organisations on a date (default status: member)."""
    return service.overlap(session, a, b, _day(on), status)


@router.post("/memberships", response_model=MembershipRead, status_code=201)
def create_membership(
    data: MembershipCreate, session: DbSession, actor: CurrentActor
) -> MembershipRead:
    """Add a membership period; refused if it overlaps another period of the same state."""
    row = service.add_membership(session, actor, data)
    return service.membership_detail(session, row.id)


@router.patch("/memberships/{membership_id}", response_model=MembershipRead)
def update_membership(
    membership_id: RowId, data: MembershipUpdate, session: DbSession, actor: CurrentActor
) -> MembershipRead:
    """Close or correct a membership period; sources, when given, replace the old ones."""
    service.update_membership(session, actor, membership_id, data)
    return service.membership_detail(session, membership_id)


@router.delete("/memberships/{membership_id}", status_code=204)
def delete_membership(membership_id: RowId, session: DbSession, actor: CurrentActor) -> Response:
    """Delete a membership period (recorded in the change log)."""
    service.delete_membership(session, actor, membership_id)
    return Response(status_code=204)


@router.get("/agreements", response_model=list[AgreementRead])
def list_agreements(session: DbSession, actor: CurrentActor) -> list[AgreementRead]:
    """Every agreement, by signature date."""
    return service.list_agreements(session)


@router.get("/agreements/{code}/parties", response_model=PartiesOn)
def agreement_parties(
    code: str, session: DbSession, actor: CurrentActor, on: On = None
) -> PartiesOn:
    """The states an agreement binds on a date (none if it is not in force then)."""
    return service.parties_on(session, code, _day(on))


@router.post("/agreements", response_model=AgreementRead, status_code=201)
def create_agreement(
    data: AgreementCreate, session: DbSession, actor: CurrentActor
) -> AgreementRead:
    """Add an agreement with its parties and obligations."""
    service.add_agreement(session, actor, data)
    return service.agreement_detail(session, data.code)


@router.delete("/agreements/{code}", status_code=204)
def delete_agreement(code: str, session: DbSession, actor: CurrentActor) -> Response:
    """Delete an agreement with its parties and obligations (recorded in the change log)."""
    service.delete_agreement(session, actor, code)
    return Response(status_code=204)


@router.delete("/borders/{a}/{b}", status_code=204)
def delete_border(a: str, b: str, session: DbSession, actor: CurrentActor) -> Response:
    """Delete the land border between two states (admins only)."""
    service.delete_border(session, actor, a, b)
    return Response(status_code=204)


@router.delete("/bodies/{code}", status_code=204)
def delete_body(code: str, session: DbSession, actor: CurrentActor) -> Response:
    """Delete a body no account acts for."""
    service.delete_body(session, actor, code)
    return Response(status_code=204)


@router.get("/agreements/{code}", response_model=AgreementRead)
def get_agreement(code: str, session: DbSession, actor: CurrentActor) -> AgreementRead:
    """One agreement with its parties, obligations and sources."""
    return service.agreement_detail(session, code)


@router.post("/borders", response_model=BorderRead, status_code=201)
def create_border(data: BorderCreate, session: DbSession, actor: CurrentActor) -> BorderRead:
    """Record a land border between two states."""
    row = service.add_border(session, actor, data)
    return next(b for b in service.borders(session, row.state_a) if b.state_b == row.state_b)


@router.post("/sources", response_model=SourceRead, status_code=201)
def create_source(data: SourceCreate, session: DbSession, actor: CurrentActor) -> SourceRead:
    """Add a source that facts can cite by key."""
    return SourceRead.model_validate(service.add_source(session, actor, data))
