"""dicom-ingest: ECG recordings sent as DICOM waveforms (by a DICOM peer, before their order is known)

Revision ID: 0012_dicom_ingest
Revises: 0011_merge_diagnostics
Create Date: 2026-11-23 04:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_dicom_ingest'
down_revision = '0011_merge_diagnostics'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('ecg_recordings', schema=None) as batch_op:
        batch_op.alter_column('order_id', existing_type=_ID, nullable=True)
        batch_op.alter_column('uploaded_by_id', existing_type=_ID, nullable=True)


def downgrade() -> None:
    # Refused (NOT NULL) while recordings sent by DICOM peers exist: clinical rows are not deleted.
    with op.batch_alter_table('ecg_recordings', schema=None) as batch_op:
        batch_op.alter_column('uploaded_by_id', existing_type=_ID, nullable=False)
        batch_op.alter_column('order_id', existing_type=_ID, nullable=False)
