"""records: indexes for patient search (name prefix, record number)

Revision ID: 0002_records
Revises: 0001
"""
from alembic import op

revision = "0002_records"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Byte order makes `name >= prefix AND name < next(prefix)` exactly the names starting
        # with prefix whatever the database's collation; queries use the same COLLATE "C".
        op.execute('CREATE INDEX ix_patients_name_id ON patients (name COLLATE "C", id)')
    else:
        op.create_index("ix_patients_name_id", "patients", ["name", "id"], unique=False)
    op.create_index("ix_patient_registrations_mrn", "patient_registrations", ["mrn"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_patient_registrations_mrn", table_name="patient_registrations")
    op.drop_index("ix_patients_name_id", table_name="patients")
