"""Sharing rules: what may be submitted, how each object is validated, released and stored.

Services flush, never commit: the request or command that calls them owns the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stix2validator import ValidationOptions, validate_instance

from indivisible.auth.principal import Actor, Role
from indivisible.errors import InvalidInput, NotFound, PermissionDenied
from indivisible.i18n import _
from indivisible.registry.models import Organisation, State
from indivisible.sharing import repository
from indivisible.sharing.markings import Tlp, tlp_of
from indivisible.sharing.models import SharingGroup, StixObject, StixObjectRecipient
from indivisible.sharing.schemas import Distribution, Failure, Release, SubmitResult

# Strict off: "SHOULD" recommendations are warnings, not refusals, as in the OASIS default.
_VALIDATION = ValidationOptions(version="2.1", strict=False)
# Only these levels may leave the node over a federation link.
FEDERABLE = frozenset({Tlp.clear, Tlp.green, Tlp.amber})


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def validate(obj: Any) -> list[str]:
    """The OASIS validator's errors for one object (empty when valid)."""
    if not isinstance(obj, dict):
        return ["an object must be a JSON object"]
    result = validate_instance(obj, _VALIDATION)
    return [str(error) for error in result.errors]


def _check_release(session: Session, actor: Actor, release: Release) -> int | None:
    if (
        release.distribution is Distribution.organisation
        and release.organisation is not None
        and session.get(Organisation, release.organisation) is None
    ):
        raise InvalidInput(
            _("Unknown organisation {code}."),
            code="unknown_organisation",
            field="organisation",
            params={"code": release.organisation},
        )
    for code in release.states:
        if session.get(State, code) is None:
            raise InvalidInput(
                _("Unknown state code {code}."),
                code="unknown_state",
                field="states",
                params={"code": code},
            )
    if release.distribution is Distribution.group and release.group is not None:
        group = session.scalars(
            select(SharingGroup).where(SharingGroup.name == release.group)
        ).first()
        if group is None:
            raise InvalidInput(
                _("Unknown sharing group {name}."),
                code="unknown_group",
                field="group",
                params={"name": release.group},
            )
        return group.id
    return None


def _first_date_added(session: Session) -> datetime:
    """Where this submission's date_added values start: now, or just after the newest stored
    one, so that paging by date_added never skips or repeats an object."""
    now = datetime.now(UTC)
    latest = session.scalar(select(func.max(StixObject.date_added)))
    if latest is not None:
        latest = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
        if latest >= now:
            return latest + timedelta(microseconds=1)
    return now


def submit(
    session: Session, actor: Actor, objects: Sequence[Any], release: Release
) -> SubmitResult:
    """Store each valid object with the release given; refuse each invalid one with its reason.

    One bad object does not stop the others: each is applied in its own savepoint.
    """
    if actor.role is not Role.liaison or actor.state_code is None:
        raise PermissionDenied(
            _("Only a state's liaison officers submit objects on its behalf."),
            code="role_required",
        )
    group_id = _check_release(session, actor, release)
    result = SubmitResult()
    # One look at the newest date_added per submission; each stored object takes the next tick.
    date_added = _first_date_added(session)
    for obj in objects:
        stix_id = obj.get("id") if isinstance(obj, dict) else None
        version = obj.get("modified") or obj.get("created") if isinstance(obj, dict) else None
        errors = validate(obj)
        if errors:
            result.failures.append(Failure(id=stix_id, version=version, message="; ".join(errors)))
            continue
        # Valid STIX: an object with a string id and timestamps.
        assert isinstance(obj, dict)
        stix_id = str(obj["id"])
        modified = _timestamp(version)
        if session.scalars(repository.version(stix_id, modified)).first() is not None:
            # The same version again: TAXII clients retry, and a retry must not fail.
            result.successes.append(stix_id)
            continue
        tlp = tlp_of(obj.get("object_marking_refs"))
        with session.begin_nested():
            row = StixObject(
                stix_id=stix_id,
                type=obj["type"],
                spec_version=obj.get("spec_version", "2.1"),
                created=_timestamp(obj.get("created")),
                modified=modified,
                date_added=date_added,
                body=json.dumps(obj, ensure_ascii=False, separators=(",", ":")),
                submitter_state=actor.state_code,
                submitter_principal=actor.principal_id,
                tlp=tlp.value,
                distribution=release.distribution.value,
                distribution_organisation=release.organisation,
                distribution_partners=release.include_partners,
                distribution_group=group_id,
                federate=release.federate and tlp in FEDERABLE,
            )
            session.add(row)
            session.flush()
            for code in sorted(set(release.states)):
                session.add(StixObjectRecipient(object_id=row.id, state_code=code))
            session.flush()
        date_added += timedelta(microseconds=1)
        result.successes.append(stix_id)
    return result


def visible_objects(session: Session, actor: Actor, on: date | None = None) -> list[StixObject]:
    stmt = repository.visible_to(actor, on or date.today()).order_by(
        StixObject.date_added, StixObject.id
    )
    return list(session.scalars(stmt))


def get_object(session: Session, actor: Actor, stix_id: str) -> list[StixObject]:
    """Every version of an object the actor may see; missing and invisible look the same."""
    rows = list(
        session.scalars(
            repository.visible_to(actor, date.today())
            .where(StixObject.stix_id == stix_id)
            .order_by(StixObject.modified)
        )
    )
    if not rows:
        raise NotFound(_("No object {id}."), code="unknown_object", params={"id": stix_id})
    return rows
