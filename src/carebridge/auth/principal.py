"""The Principal: the authenticated caller as every service sees it."""

from __future__ import annotations

from dataclasses import dataclass, field

from carebridge.audit.service import Actor
from carebridge.auth.models import ADMIN_ROLES, CLINICAL_ROLES, Role


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    roles: frozenset[tuple[str, int | None]] = field(default_factory=frozenset)
    patient_id: int | None = None
    via: str = "session"
    ip: str = ""

    def has_role(self, role: Role | str, facility_id: int | None = None) -> bool:
        if facility_id is None:
            return any(r == role for r, _ in self.roles)
        return (str(role), facility_id) in self.roles

    def facilities_with(self, *roles: Role | str) -> set[int]:
        wanted = {str(r) for r in roles}
        return {fid for r, fid in self.roles if r in wanted and fid is not None}

    @property
    def is_platform_admin(self) -> bool:
        return self.has_role(Role.platform_admin)

    @property
    def clinical_facility_ids(self) -> set[int]:
        return self.facilities_with(*CLINICAL_ROLES)

    @property
    def is_clinician(self) -> bool:
        return bool(self.clinical_facility_ids)

    @property
    def is_admin(self) -> bool:
        return any(r in ADMIN_ROLES for r, _ in self.roles)

    @property
    def primary_role(self) -> str:
        order = [Role.doctor, Role.nurse, Role.technician, Role.pharmacist, Role.facility_admin,
                 Role.platform_admin, Role.patient]
        held = {r for r, _ in self.roles}
        return next((str(r) for r in order if r in held), "")

    def actor(self, facility_id: int | None = None, role: str | None = None) -> Actor:
        return Actor(
            user_id=self.user_id,
            name=self.display_name,
            role=role or self.primary_role,
            facility_id=facility_id,
            ip=self.ip,
        )
