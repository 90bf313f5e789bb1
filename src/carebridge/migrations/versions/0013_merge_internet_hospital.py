"""one head again after the internet-hospital features were built side by side

Revision ID: 0013_merge_internet_hospital
Revises: 0012_payments, 0012_visits, 0012_delivery, 0012_pharmacy, 0012_home_nursing, 0012_test_appointments,
    0012_portal_accounts, 0012_dicom_ingest
"""

revision = "0013_merge_internet_hospital"
down_revision = ("0012_payments", "0012_visits", "0012_delivery", "0012_pharmacy", "0012_home_nursing",
                 "0012_test_appointments", "0012_portal_accounts", "0012_dicom_ingest")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
