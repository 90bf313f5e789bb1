"""Human labels for the network's enums, marked for translation (templates call `_()` on them)."""

from __future__ import annotations

from carebridge.kit.i18n import N_
from carebridge.network.models import TIER_LEVEL, ServiceKind, Tier, Title

TIER_LABELS: dict[str, str] = {
    Tier.village_clinic: N_("Village clinic"),
    Tier.township_center: N_("Township health center"),
    Tier.community_center: N_("Community health center"),
    Tier.county_hospital: N_("County hospital"),
    Tier.city_hospital: N_("City hospital"),
    Tier.provincial_hospital: N_("Provincial hospital"),
    Tier.national_center: N_("National center"),
    Tier.international_partner: N_("International partner"),
}

SERVICE_LABELS: dict[str, str] = {
    ServiceKind.consultation: N_("Remote consultation"),
    ServiceKind.imaging_reading: N_("Imaging reading"),
    ServiceKind.ecg_reading: N_("ECG reading"),
    ServiceKind.pathology_reading: N_("Pathology reading"),
}

TITLE_LABELS: dict[str, str] = {
    Title.resident: N_("Resident physician"),
    Title.attending: N_("Attending physician"),
    Title.associate_chief: N_("Associate chief physician"),
    Title.chief: N_("Chief physician"),
}

# Highest level first: the order the network tree and the tier counts are shown in.
TIERS_TOP_DOWN: list[str] = [t.value for t in sorted(Tier, key=lambda t: -TIER_LEVEL[t])]
