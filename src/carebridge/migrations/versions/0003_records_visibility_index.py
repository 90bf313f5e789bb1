"""records: index for 'patients registered at these facilities'

Revision ID: 0003_records
Revises: 0002_records
"""
from alembic import op

revision = "0003_records"
down_revision = "0002_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_patient_registrations_facility_patient", "patient_registrations",
                    ["facility_id", "patient_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_patient_registrations_facility_patient", table_name="patient_registrations")
