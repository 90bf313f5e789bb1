"""ecg: recordings of ECG orders with their automatic pre-read

Revision ID: 0010_ecg
Revises: 0009_diagnostics
Create Date: 2026-11-23 01:30:00
"""
from alembic import op
import sqlalchemy as sa
import carebridge.db


revision = '0010_ecg'
down_revision = '0009_diagnostics'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('ecg_recordings',
    sa.Column('id', _ID, nullable=False),
    sa.Column('study_id', _ID, nullable=False),
    sa.Column('order_id', _ID, nullable=False),
    sa.Column('lead_names', sa.JSON(), nullable=False),
    sa.Column('derived_leads', sa.JSON(), nullable=False),
    sa.Column('sample_rate', sa.Float(), nullable=False),
    sa.Column('sample_count', sa.Integer(), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('source_format', sa.String(length=8), nullable=False),
    sa.Column('recorded_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('original_digest', sa.String(length=64), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=False),
    sa.Column('original_size', sa.BigInteger(), nullable=False),
    sa.Column('signal_digest', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', _ID, nullable=False),
    sa.Column('uploaded_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('preread', sa.JSON(), nullable=True),
    sa.Column('preread_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('preread_version', sa.String(length=8), nullable=False),
    sa.Column('preread_rank', sa.SmallInteger(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['diagnosis_orders.id'], name=op.f('fk_ecg_recordings_order_id_diagnosis_orders')),
    sa.ForeignKeyConstraint(['study_id'], ['diagnostic_studies.id'], name=op.f('fk_ecg_recordings_study_id_diagnostic_studies')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_ecg_recordings_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ecg_recordings')),
    sa.UniqueConstraint('order_id', name=op.f('uq_ecg_recordings_order_id')),
    sa.UniqueConstraint('study_id', name=op.f('uq_ecg_recordings_study_id'))
    )


def downgrade() -> None:
    op.drop_table('ecg_recordings')
