"""Role names as people read them (translated at render time)."""

from __future__ import annotations

from carebridge.auth.models import Role
from carebridge.kit.i18n import N_

ROLE_LABELS: dict[str, str] = {
    Role.platform_admin: N_("Platform administrator"),
    Role.facility_admin: N_("Facility administrator"),
    Role.doctor: N_("Doctor"),
    Role.nurse: N_("Nurse"),
    Role.technician: N_("Technician"),
    Role.pharmacist: N_("Pharmacist"),
    Role.patient: N_("Patient"),
}
