"""Words for the portal's machine values, marked for translation."""

from __future__ import annotations

from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.portal.accounts.models import ClaimStatus, LinkStatus, PermissionBasis, PermissionScope, Relationship

RELATIONSHIPS = {
    Relationship.child: N_("Son or daughter"),
    Relationship.spouse: N_("Husband or wife"),
    Relationship.parent: N_("Father or mother"),
    Relationship.sibling: N_("Brother or sister"),
    Relationship.other: N_("Other relative or carer"),
}
# The same relationship as the caregiver sees the patient (the patient said "he is my son").
SEEN_BY_CAREGIVER = {
    Relationship.child: N_("My parent"),
    Relationship.spouse: N_("My husband or wife"),
    Relationship.parent: N_("My child"),
    Relationship.sibling: N_("My brother or sister"),
    Relationship.other: N_("My relative"),
}
SCOPES = {
    PermissionScope.all: N_("Everything: book, order, pay and read"),
    PermissionScope.read: N_("Read only"),
}
SCOPE_SHORT = {PermissionScope.all: N_("Can act for"), PermissionScope.read: N_("Read only")}
BASES = {PermissionBasis.patient: N_("Given in the app"), PermissionBasis.paper: N_("Signed paper form")}
LINK_STATUS = {
    LinkStatus.profile: N_("Real-name details needed"),
    LinkStatus.linked: N_("Linked to your health record"),
    LinkStatus.pending: N_("Being checked by hospital staff"),
    LinkStatus.refused: N_("Not confirmed: please visit a hospital with your ID card"),
}
CLAIM_REASONS = {
    "same_national_id": N_("Same national ID"),
    "same_name_and_birth_date": N_("Same name and birth date"),
    "same_name_and_phone": N_("Same name and phone"),
}
CLAIM_STATUS = {
    ClaimStatus.pending: N_("Waiting"),
    ClaimStatus.confirmed: N_("Link confirmed"),
    ClaimStatus.rejected: N_("Not linked"),
    ClaimStatus.superseded: N_("No longer needed"),
}
SEXES = {"male": N_("Male"), "female": N_("Female"), "other": N_("Other"), "unknown": N_("Unknown")}


def label(table: dict, value: str) -> str:
    found = next((text for key, text in table.items() if key == value), None)
    return _(found) if found else value


def labels_for_templates() -> dict:
    return {"relationship_label": lambda v: label(RELATIONSHIPS, v),
            "seen_by_caregiver": lambda v: label(SEEN_BY_CAREGIVER, v), "scope_label": lambda v: label(SCOPES, v),
            "scope_short": lambda v: label(SCOPE_SHORT, v), "basis_label": lambda v: label(BASES, v),
            "link_status_label": lambda v: label(LINK_STATUS, v), "claim_reason": lambda v: label(CLAIM_REASONS, v),
            "sex_label": lambda v: label(SEXES, v)}
