"""Imports every domain's tables so that the metadata Alembic compares against is complete."""

from indivisible.audit.models import ChangeRecord
from indivisible.auth.models import ApiToken, Principal, WebSession
from indivisible.cbm.models import (
    Clarification,
    Notification,
    NotificationFinding,
    NotificationRecipient,
)
from indivisible.db import Base
from indivisible.registry.models import (
    Agreement,
    AgreementParty,
    Body,
    Border,
    Citation,
    Membership,
    Obligation,
    Organisation,
    Source,
    State,
)
from indivisible.sharing.models import (
    FederationLink,
    NodeKey,
    SharingGroup,
    SharingGroupMember,
    StixObject,
    StixObjectRecipient,
    StixObservable,
    TaxiiCollection,
    TaxiiGrant,
    TaxiiStatus,
)

__all__ = [
    "Agreement",
    "AgreementParty",
    "ApiToken",
    "Base",
    "Body",
    "Border",
    "ChangeRecord",
    "Citation",
    "Clarification",
    "FederationLink",
    "Membership",
    "NodeKey",
    "Notification",
    "NotificationFinding",
    "NotificationRecipient",
    "Obligation",
    "Organisation",
    "Principal",
    "SharingGroup",
    "SharingGroupMember",
    "Source",
    "State",
    "StixObject",
    "StixObjectRecipient",
    "StixObservable",
    "TaxiiCollection",
    "TaxiiGrant",
    "TaxiiStatus",
    "WebSession",
]
