"""home nursing: catalogue, nurse credentials, doctors' orders, the order with its assessment,
offers, timeline, visit record, photos, SOS alerts and complaints

Revision ID: 0012_home_nursing
Revises: 0011_merge_diagnostics
"""
import sqlalchemy as sa
from alembic import op

import carebridge.db


revision = "0012_home_nursing"
down_revision = "0011_merge_diagnostics"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('nursing_services',
    sa.Column('id', ID, nullable=False),
    sa.Column('facility_id', ID, nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('price_fen', sa.Integer(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('required_credential', sa.String(length=40), nullable=False),
    sa.Column('min_years', sa.Integer(), nullable=False),
    sa.Column('insured', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_nursing_services_facility_id_facilities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nursing_services')),
    sa.UniqueConstraint('facility_id', 'code', name=op.f('uq_nursing_services_facility_id_code'))
    )
    with op.batch_alter_table('nursing_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nursing_services_facility_id'), ['facility_id'], unique=False)

    op.create_table('nursing_doctor_orders',
    sa.Column('id', ID, nullable=False),
    sa.Column('patient_id', ID, nullable=False),
    sa.Column('facility_id', ID, nullable=False),
    sa.Column('doctor_user_id', ID, nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('valid_until', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('voided_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['doctor_user_id'], ['users.id'], name=op.f('fk_nursing_doctor_orders_doctor_user_id_users')),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_nursing_doctor_orders_facility_id_facilities')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_nursing_doctor_orders_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nursing_doctor_orders'))
    )
    with op.batch_alter_table('nursing_doctor_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nursing_doctor_orders_doctor_user_id'), ['doctor_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nursing_doctor_orders_patient_id'), ['patient_id'], unique=False)

    op.create_table('nursing_credentials',
    sa.Column('id', ID, nullable=False),
    sa.Column('practitioner_id', ID, nullable=False),
    sa.Column('credential', sa.String(length=40), nullable=False),
    sa.Column('certificate_no', sa.String(length=60), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', ID, nullable=False),
    sa.Column('recorded_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_nursing_credentials_practitioner_id_practitioners')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_nursing_credentials_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nursing_credentials')),
    sa.UniqueConstraint('practitioner_id', 'credential', name=op.f('uq_nursing_credentials_practitioner_id_credential'))
    )
    with op.batch_alter_table('nursing_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nursing_credentials_practitioner_id'), ['practitioner_id'], unique=False)

    op.create_table('nursing_nurse_profiles',
    sa.Column('practitioner_id', ID, nullable=False),
    sa.Column('license_valid_until', sa.Date(), nullable=False),
    sa.Column('practising_since', sa.Date(), nullable=False),
    sa.Column('base_label', sa.String(length=200), nullable=False),
    sa.Column('base_latitude', sa.Float(), nullable=True),
    sa.Column('base_longitude', sa.Float(), nullable=True),
    sa.Column('current_latitude', sa.Float(), nullable=True),
    sa.Column('current_longitude', sa.Float(), nullable=True),
    sa.Column('position_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_nursing_nurse_profiles_practitioner_id_practitioners')),
    sa.PrimaryKeyConstraint('practitioner_id', name=op.f('pk_nursing_nurse_profiles'))
    )
    op.create_table('nursing_orders',
    sa.Column('id', ID, nullable=False),
    sa.Column('patient_id', ID, nullable=False),
    sa.Column('facility_id', ID, nullable=False),
    sa.Column('service_id', ID, nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('service_name', sa.String(length=100), nullable=False),
    sa.Column('service_name_en', sa.String(length=100), nullable=False),
    sa.Column('price_fen', sa.Integer(), nullable=False),
    sa.Column('insured', sa.Boolean(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('required_credential', sa.String(length=40), nullable=False),
    sa.Column('min_years', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('window_start', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('window_end', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('notes', sa.String(length=500), nullable=False),
    sa.Column('eligibility', sa.JSON(), nullable=False),
    sa.Column('doctor_order_id', ID, nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('state_reason', sa.String(length=500), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('booked_by_id', ID, nullable=False),
    sa.Column('nurse_id', ID, nullable=True),
    sa.Column('nurse_user_id', ID, nullable=True),
    sa.Column('charge_id', ID, nullable=True),
    sa.Column('paid_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refund_fen', sa.Integer(), nullable=True),
    sa.Column('checked_in_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_out_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('rating_comment', sa.String(length=500), nullable=False),
    sa.Column('rated_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['booked_by_id'], ['users.id'], name=op.f('fk_nursing_orders_booked_by_id_users')),
    sa.ForeignKeyConstraint(['doctor_order_id'], ['nursing_doctor_orders.id'], name=op.f('fk_nursing_orders_doctor_order_id_nursing_doctor_orders')),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_nursing_orders_facility_id_facilities')),
    sa.ForeignKeyConstraint(['nurse_id'], ['practitioners.id'], name=op.f('fk_nursing_orders_nurse_id_practitioners')),
    sa.ForeignKeyConstraint(['nurse_user_id'], ['users.id'], name=op.f('fk_nursing_orders_nurse_user_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_nursing_orders_patient_id_patients')),
    sa.ForeignKeyConstraint(['service_id'], ['nursing_services.id'], name=op.f('fk_nursing_orders_service_id_nursing_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nursing_orders'))
    )
    with op.batch_alter_table('nursing_orders', schema=None) as batch_op:
        batch_op.create_index('ix_nursing_orders_facility_state', ['facility_id', 'state', 'id'], unique=False)
        batch_op.create_index('ix_nursing_orders_nurse', ['nurse_user_id', 'window_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_nursing_orders_patient_id'), ['patient_id'], unique=False)

    op.create_table('nursing_assessments',
    sa.Column('id', ID, nullable=False),
    sa.Column('order_id', ID, nullable=False),
    sa.Column('nurse_user_id', ID, nullable=False),
    sa.Column('fall_risk', sa.String(length=10), nullable=False),
    sa.Column('infection_risk', sa.String(length=10), nullable=False),
    sa.Column('home_environment', sa.String(length=20), nullable=False),
    sa.Column('home_notes', sa.String(length=500), nullable=False),
    sa.Column('allergies', sa.String(length=500), nullable=False),
    sa.Column('thresholds', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['nurse_user_id'], ['users.id'], name=op.f('fk_nursing_assessments_nurse_user_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['nursing_orders.id'], name=op.f('fk_nursing_assessments_order_id_nursing_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nursing_assessments')),
    sa.UniqueConstraint('order_id', name=op.f('uq_nursing_assessments_order_id'))
    )
    op.create_table('nursing_complaints',
    sa.Column('id', ID, nullable=False),
    sa.Column('order_id', ID, nullable=False),
    sa.Column('facility_id', ID, nullable=False),
    sa.Column('author_user_id', ID, nullable=False),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('created_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('response', sa.String(length=1000), nullable=False),
    sa.Column('responded_by_id', ID, nullable=True),
    sa.Column('responded_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], name=op.f('fk_nursing_complaints_author_user_id_users')),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_nursing_complaints_facility_id_facilities')),
    sa.ForeignKeyConstraint(['order_id'], ['nursing_orders.id'], name=op.f('fk_nursing_complaints_order_id_nursing_orders')),
    sa.ForeignKeyConstraint(['responded_by_id'], ['users.id'], name=op.f('fk_nursing_complaints_responded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nursing_complaints'))
    )
    with op.batch_alter_table('nursing_complaints', schema=None) as batch_op:
        batch_op.create_index('ix_nursing_complaints_facility', ['facility_id', 'responded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_nursing_complaints_order_id'), ['order_id'], unique=False)

    op.create_table('nursing_offers',
    sa.Column('id', ID, nullable=False),
    sa.Column('order_id', ID, nullable=False),
    sa.Column('practitioner_id', ID, nullable=False),
    sa.Column('nurse_user_id', ID, nullable=False),
    sa.Column('offered_by_id', ID, nullable=True),
    sa.Column('distance_m', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['nurse_user_id'], ['users.id'], name=op.f('fk_nursing_offers_nurse_user_id_users')),
    sa.ForeignKeyConstraint(['offered_by_id'], ['users.id'], name=op.f('fk_nursing_offers_offered_by_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['nursing_orders.id'], name=op.f('fk_nursing_offers_order_id_nursing_orders')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_nursing_offers_practitioner_id_practitioners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nursing_offers'))
    )
    with op.batch_alter_table('nursing_offers', schema=None) as batch_op:
        batch_op.create_index('ix_nursing_offers_nurse_state', ['nurse_user_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_nursing_offers_order_id'), ['order_id'], unique=False)

    op.create_table('nursing_order_events',
    sa.Column('id', ID, nullable=False),
    sa.Column('order_id', ID, nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=False),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('actor_user_id', ID, nullable=True),
    sa.Column('party', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('distance_m', sa.Integer(), nullable=True),
    sa.Column('at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_nursing_order_events_actor_user_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['nursing_orders.id'], name=op.f('fk_nursing_order_events_order_id_nursing_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nursing_order_events'))
    )
    with op.batch_alter_table('nursing_order_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nursing_order_events_order_id'), ['order_id'], unique=False)

    op.create_table('nursing_photos',
    sa.Column('id', ID, nullable=False),
    sa.Column('order_id', ID, nullable=False),
    sa.Column('document_id', ID, nullable=False),
    sa.Column('uploaded_by_id', ID, nullable=False),
    sa.Column('uploaded_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_nursing_photos_document_id_documents')),
    sa.ForeignKeyConstraint(['order_id'], ['nursing_orders.id'], name=op.f('fk_nursing_photos_order_id_nursing_orders')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_nursing_photos_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nursing_photos'))
    )
    with op.batch_alter_table('nursing_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nursing_photos_order_id'), ['order_id'], unique=False)

    op.create_table('nursing_sos_alerts',
    sa.Column('id', ID, nullable=False),
    sa.Column('facility_id', ID, nullable=False),
    sa.Column('nurse_user_id', ID, nullable=False),
    sa.Column('order_id', ID, nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('raised_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', carebridge.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', ID, nullable=True),
    sa.Column('ack_note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_nursing_sos_alerts_acknowledged_by_id_users')),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_nursing_sos_alerts_facility_id_facilities')),
    sa.ForeignKeyConstraint(['nurse_user_id'], ['users.id'], name=op.f('fk_nursing_sos_alerts_nurse_user_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['nursing_orders.id'], name=op.f('fk_nursing_sos_alerts_order_id_nursing_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nursing_sos_alerts'))
    )
    with op.batch_alter_table('nursing_sos_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_nursing_sos_facility_open', ['facility_id', 'acknowledged_at'], unique=False)

    op.create_table('nursing_visit_records',
    sa.Column('id', ID, nullable=False),
    sa.Column('order_id', ID, nullable=False),
    sa.Column('nurse_user_id', ID, nullable=False),
    sa.Column('procedures', sa.JSON(), nullable=False),
    sa.Column('vitals', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('filed_entry_ids', sa.JSON(), nullable=False),
    sa.Column('updated_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['nurse_user_id'], ['users.id'], name=op.f('fk_nursing_visit_records_nurse_user_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['nursing_orders.id'], name=op.f('fk_nursing_visit_records_order_id_nursing_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nursing_visit_records')),
    sa.UniqueConstraint('order_id', name=op.f('uq_nursing_visit_records_order_id'))
    )


def downgrade() -> None:
    op.drop_table('nursing_visit_records')
    with op.batch_alter_table('nursing_sos_alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_nursing_sos_facility_open')

    op.drop_table('nursing_sos_alerts')
    with op.batch_alter_table('nursing_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nursing_photos_order_id'))

    op.drop_table('nursing_photos')
    with op.batch_alter_table('nursing_order_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nursing_order_events_order_id'))

    op.drop_table('nursing_order_events')
    with op.batch_alter_table('nursing_offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nursing_offers_order_id'))
        batch_op.drop_index('ix_nursing_offers_nurse_state')

    op.drop_table('nursing_offers')
    with op.batch_alter_table('nursing_complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nursing_complaints_order_id'))
        batch_op.drop_index('ix_nursing_complaints_facility')

    op.drop_table('nursing_complaints')
    op.drop_table('nursing_assessments')
    with op.batch_alter_table('nursing_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nursing_orders_patient_id'))
        batch_op.drop_index('ix_nursing_orders_nurse')
        batch_op.drop_index('ix_nursing_orders_facility_state')

    op.drop_table('nursing_orders')
    op.drop_table('nursing_nurse_profiles')
    with op.batch_alter_table('nursing_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nursing_credentials_practitioner_id'))

    op.drop_table('nursing_credentials')
    with op.batch_alter_table('nursing_doctor_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nursing_doctor_orders_patient_id'))
        batch_op.drop_index(batch_op.f('ix_nursing_doctor_orders_doctor_user_id'))

    op.drop_table('nursing_doctor_orders')
    with op.batch_alter_table('nursing_services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nursing_services_facility_id'))

    op.drop_table('nursing_services')
