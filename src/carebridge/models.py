"""Imports every feature's tables so metadata (Alembic, `db check`) sees the whole schema."""

from carebridge.access import models as access_models  # noqa: F401
from carebridge.audit import models as audit_models  # noqa: F401
from carebridge.auth import models as auth_models  # noqa: F401
from carebridge.consultations import models as consultation_models  # noqa: F401
from carebridge.consultations import opinion_models  # noqa: F401
from carebridge.consultations import room_models as consultation_room_models  # noqa: F401
from carebridge.consultations import schedule_models as consultation_schedule_models  # noqa: F401
from carebridge.db import Base
from carebridge.diagnostics import models as diagnostics_models  # noqa: F401
from carebridge.diagnostics import reading_models as diagnostics_reading_models  # noqa: F401
from carebridge.diagnostics import report_models as diagnostics_report_models  # noqa: F401
from carebridge.diagnostics.ecg import models as ecg_models  # noqa: F401
from carebridge.diagnostics.imaging import models as imaging_models  # noqa: F401
from carebridge.diagnostics.pathology import models as pathology_models  # noqa: F401
from carebridge.network import models as network_models  # noqa: F401
from carebridge.notifications import models as notification_models  # noqa: F401
from carebridge.payments import models as payments_models  # noqa: F401
from carebridge.portal.accounts import models as portal_account_models  # noqa: F401
from carebridge.portal.delivery import models as delivery_models  # noqa: F401
from carebridge.portal.home_nursing import models as home_nursing_models  # noqa: F401
from carebridge.portal.pharmacy import models as pharmacy_models  # noqa: F401
from carebridge.portal.test_appointments import models as test_appointment_models  # noqa: F401
from carebridge.portal.visits import models as visit_models  # noqa: F401
from carebridge.records import models as records_models  # noqa: F401
from carebridge.referrals import models as referral_models  # noqa: F401

metadata = Base.metadata
