"""pharmacy: the drug catalogue, e-prescriptions with versions, items, events and pharmacist review,
refill requests

Revision ID: 0012_pharmacy
Revises: 0011_merge_diagnostics
"""
import sqlalchemy as sa
from alembic import op

import carebridge.db

revision = "0012_pharmacy"
down_revision = "0011_merge_diagnostics"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('pharmacy_drugs',
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('atc', sa.String(length=10), nullable=False),
    sa.Column('generic_zh', sa.String(length=100), nullable=False),
    sa.Column('generic_en', sa.String(length=100), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('form', sa.String(length=30), nullable=False),
    sa.Column('strength', sa.String(length=80), nullable=False),
    sa.Column('dose_unit', sa.String(length=10), nullable=False),
    sa.Column('unit_amount', sa.Float(), nullable=False),
    sa.Column('pack_count', sa.Integer(), nullable=False),
    sa.Column('pack_unit', sa.String(length=20), nullable=False),
    sa.Column('routes', sa.JSON(), nullable=False),
    sa.Column('default_frequency', sa.String(length=10), nullable=False),
    sa.Column('max_daily', sa.Float(), nullable=True),
    sa.Column('therapeutic_class', sa.String(length=40), nullable=False),
    sa.Column('chronic', sa.Boolean(), nullable=False),
    sa.Column('cold_chain', sa.Boolean(), nullable=False),
    sa.Column('insured', sa.Boolean(), nullable=False),
    sa.Column('price_fen', sa.Integer(), nullable=False),
    sa.Column('allergy_groups', sa.JSON(), nullable=False),
    sa.Column('cross_allergy_groups', sa.JSON(), nullable=False),
    sa.Column('age_cautions', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('catalogue_version', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_pharmacy_drugs'))
    )
    with op.batch_alter_table('pharmacy_drugs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pharmacy_drugs_atc'), ['atc'], unique=False)

    op.create_table('prescriptions',
    sa.Column('id', ID, nullable=False),
    sa.Column('patient_id', ID, nullable=False),
    sa.Column('facility_id', ID, nullable=False),
    sa.Column('dispensing_facility_id', ID, nullable=False),
    sa.Column('prescriber_id', ID, nullable=False),
    sa.Column('visit_id', ID, nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('diagnosis', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('state_reason', sa.String(length=500), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('version_no', sa.Integer(), nullable=False),
    sa.Column('refills_allowed', sa.Integer(), nullable=False),
    sa.Column('refills_used', sa.Integer(), nullable=False),
    sa.Column('refill_of_id', ID, nullable=True),
    sa.Column('valid_days', sa.Integer(), nullable=False),
    sa.Column('valid_until', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by_id', ID, nullable=True),
    sa.Column('reviewed_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dispensed_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dispensing_facility_id'], ['facilities.id'], name=op.f('fk_prescriptions_dispensing_facility_id_facilities')),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_prescriptions_facility_id_facilities')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_prescriptions_patient_id_patients')),
    sa.ForeignKeyConstraint(['prescriber_id'], ['users.id'], name=op.f('fk_prescriptions_prescriber_id_users')),
    sa.ForeignKeyConstraint(['refill_of_id'], ['prescriptions.id'], name=op.f('fk_prescriptions_refill_of_id_prescriptions')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_prescriptions_reviewed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescriptions'))
    )
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.create_index('ix_prescriptions_facility', ['facility_id', 'id'], unique=False)
        batch_op.create_index('ix_prescriptions_patient', ['patient_id', 'id'], unique=False)
        batch_op.create_index('ix_prescriptions_queue', ['dispensing_facility_id', 'state', 'submitted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescriptions_refill_of_id'), ['refill_of_id'], unique=False)

    op.create_table('prescription_events',
    sa.Column('id', ID, nullable=False),
    sa.Column('prescription_id', ID, nullable=False),
    sa.Column('at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', ID, nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=False),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_prescription_events_actor_id_users')),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescriptions.id'], name=op.f('fk_prescription_events_prescription_id_prescriptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescription_events'))
    )
    with op.batch_alter_table('prescription_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prescription_events_prescription_id'), ['prescription_id'], unique=False)

    op.create_table('prescription_refill_requests',
    sa.Column('id', ID, nullable=False),
    sa.Column('prescription_id', ID, nullable=False),
    sa.Column('patient_id', ID, nullable=False),
    sa.Column('facility_id', ID, nullable=False),
    sa.Column('requested_by_id', ID, nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('open_for', ID, nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('decided_by_id', ID, nullable=True),
    sa.Column('decided_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('new_prescription_id', ID, nullable=True),
    sa.Column('created_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_prescription_refill_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_prescription_refill_requests_facility_id_facilities')),
    sa.ForeignKeyConstraint(['new_prescription_id'], ['prescriptions.id'], name=op.f('fk_prescription_refill_requests_new_prescription_id_prescriptions')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_prescription_refill_requests_patient_id_patients')),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescriptions.id'], name=op.f('fk_prescription_refill_requests_prescription_id_prescriptions')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_prescription_refill_requests_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescription_refill_requests')),
    sa.UniqueConstraint('new_prescription_id', name=op.f('uq_prescription_refill_requests_new_prescription_id')),
    sa.UniqueConstraint('open_for', name=op.f('uq_prescription_refill_requests_open_for'))
    )
    with op.batch_alter_table('prescription_refill_requests', schema=None) as batch_op:
        batch_op.create_index('ix_prescription_refill_requests_facility', ['facility_id', 'state', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescription_refill_requests_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescription_refill_requests_prescription_id'), ['prescription_id'], unique=False)

    op.create_table('prescription_versions',
    sa.Column('id', ID, nullable=False),
    sa.Column('prescription_id', ID, nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('author_id', ID, nullable=False),
    sa.Column('created_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('checks', sa.JSON(), nullable=False),
    sa.Column('check_level', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('outcome_reason', sa.String(length=500), nullable=False),
    sa.Column('reviewed_by_id', ID, nullable=True),
    sa.Column('reviewed_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_prescription_versions_author_id_users')),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescriptions.id'], name=op.f('fk_prescription_versions_prescription_id_prescriptions')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_prescription_versions_reviewed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescription_versions')),
    sa.UniqueConstraint('prescription_id', 'number', name=op.f('uq_prescription_versions_prescription_id_number'))
    )
    op.create_table('prescription_items',
    sa.Column('id', ID, nullable=False),
    sa.Column('version_id', ID, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('drug_code', sa.String(length=60), nullable=False),
    sa.Column('atc', sa.String(length=10), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('label_en', sa.String(length=200), nullable=False),
    sa.Column('dose', sa.Float(), nullable=False),
    sa.Column('dose_unit', sa.String(length=10), nullable=False),
    sa.Column('route', sa.String(length=20), nullable=False),
    sa.Column('frequency', sa.String(length=10), nullable=False),
    sa.Column('duration_days', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('pack_unit', sa.String(length=20), nullable=False),
    sa.Column('unit_fen', sa.Integer(), nullable=False),
    sa.Column('insured', sa.Boolean(), nullable=False),
    sa.Column('cold_chain', sa.Boolean(), nullable=False),
    sa.Column('instructions', sa.String(length=200), nullable=False),
    sa.Column('statement_id', ID, nullable=True),
    sa.ForeignKeyConstraint(['drug_code'], ['pharmacy_drugs.code'], name=op.f('fk_prescription_items_drug_code_pharmacy_drugs')),
    sa.ForeignKeyConstraint(['statement_id'], ['record_entries.id'], name=op.f('fk_prescription_items_statement_id_record_entries')),
    sa.ForeignKeyConstraint(['version_id'], ['prescription_versions.id'], name=op.f('fk_prescription_items_version_id_prescription_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescription_items'))
    )
    with op.batch_alter_table('prescription_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prescription_items_version_id'), ['version_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('prescription_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescription_items_version_id'))

    op.drop_table('prescription_items')
    op.drop_table('prescription_versions')
    with op.batch_alter_table('prescription_refill_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescription_refill_requests_prescription_id'))
        batch_op.drop_index(batch_op.f('ix_prescription_refill_requests_patient_id'))
        batch_op.drop_index('ix_prescription_refill_requests_facility')

    op.drop_table('prescription_refill_requests')
    with op.batch_alter_table('prescription_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescription_events_prescription_id'))

    op.drop_table('prescription_events')
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescriptions_refill_of_id'))
        batch_op.drop_index('ix_prescriptions_queue')
        batch_op.drop_index('ix_prescriptions_patient')
        batch_op.drop_index('ix_prescriptions_facility')

    op.drop_table('prescriptions')
    with op.batch_alter_table('pharmacy_drugs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pharmacy_drugs_atc'))

    op.drop_table('pharmacy_drugs')
