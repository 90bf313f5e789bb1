"""test appointments: each facility's test catalogue and hours, places taken per block, doctor's
orders for tests, bookings and the lab orders they become

Revision ID: 0012_test_appointments
Revises: 0011_merge_diagnostics
"""

import sqlalchemy as sa
from alembic import op

import carebridge.db

revision = "0012_test_appointments"
down_revision = "0011_merge_diagnostics"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "test_catalogue",
        sa.Column("id", ID, nullable=False),
        sa.Column("facility_id", ID, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("modality", sa.String(length=8), nullable=False),
        sa.Column("body_part", sa.String(length=64), nullable=False),
        sa.Column("result_codes", sa.JSON(), nullable=False),
        sa.Column("prep", sa.String(length=1000), nullable=False),
        sa.Column("prep_en", sa.String(length=1000), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("list_price_fen", sa.Integer(), nullable=False),
        sa.Column("insured", sa.Boolean(), nullable=False),
        sa.Column("self_bookable", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", carebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", carebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_test_catalogue_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_catalogue")),
        sa.UniqueConstraint("facility_id", "code", name="uq_test_catalogue_facility_code"),
    )
    with op.batch_alter_table("test_catalogue", schema=None) as batch_op:
        batch_op.create_index("ix_test_catalogue_code_active", ["code", "active"], unique=False)
        batch_op.create_index(batch_op.f("ix_test_catalogue_facility_id"), ["facility_id"], unique=False)

    op.create_table(
        "test_hours",
        sa.Column("id", ID, nullable=False),
        sa.Column("test_id", ID, nullable=False),
        sa.Column("weekdays", sa.String(length=7), nullable=False),
        sa.Column("opens_minute", sa.Integer(), nullable=False),
        sa.Column("closes_minute", sa.Integer(), nullable=False),
        sa.Column("block_minutes", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["test_id"], ["test_catalogue.id"], name=op.f("fk_test_hours_test_id_test_catalogue")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_hours")),
    )
    with op.batch_alter_table("test_hours", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_test_hours_test_id"), ["test_id"], unique=False)

    op.create_table(
        "test_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("requesting_facility_id", ID, nullable=False),
        sa.Column("requested_by_id", ID, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("expires_at", carebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", carebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_test_requests_patient_id_patients")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"], name=op.f("fk_test_requests_requested_by_id_users")),
        sa.ForeignKeyConstraint(
            ["requesting_facility_id"],
            ["facilities.id"],
            name=op.f("fk_test_requests_requesting_facility_id_facilities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_requests")),
    )
    with op.batch_alter_table("test_requests", schema=None) as batch_op:
        batch_op.create_index("ix_test_requests_patient_state", ["patient_id", "state"], unique=False)

    op.create_table(
        "test_slot_counts",
        sa.Column("test_id", ID, nullable=False),
        sa.Column("starts_at", carebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["test_id"], ["test_catalogue.id"], name=op.f("fk_test_slot_counts_test_id_test_catalogue")
        ),
        sa.PrimaryKeyConstraint("test_id", "starts_at", name=op.f("pk_test_slot_counts")),
    )
    op.create_table(
        "test_bookings",
        sa.Column("id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("facility_id", ID, nullable=False),
        sa.Column("test_id", ID, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("prep", sa.String(length=1000), nullable=False),
        sa.Column("prep_en", sa.String(length=1000), nullable=False),
        sa.Column("starts_at", carebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", carebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("request_id", ID, nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("list_price_fen", sa.Integer(), nullable=False),
        sa.Column("discount_fen", sa.Integer(), nullable=False),
        sa.Column("insurance_fen", sa.Integer(), nullable=False),
        sa.Column("self_pay_fen", sa.Integer(), nullable=False),
        sa.Column("pricing_rules", sa.JSON(), nullable=False),
        sa.Column("charge_id", ID, nullable=True),
        sa.Column("booked_by_id", ID, nullable=False),
        sa.Column("diagnosis_order_id", ID, nullable=True),
        sa.Column("created_at", carebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", carebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", carebridge.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", carebridge.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_in_by_id", ID, nullable=True),
        sa.Column("performed_at", carebridge.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resulted_at", carebridge.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", carebridge.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by_id", ID, nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=False),
        sa.Column("no_show_at", carebridge.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminder_sent_at", carebridge.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["booked_by_id"], ["users.id"], name=op.f("fk_test_bookings_booked_by_id_users")),
        sa.ForeignKeyConstraint(["cancelled_by_id"], ["users.id"], name=op.f("fk_test_bookings_cancelled_by_id_users")),
        sa.ForeignKeyConstraint(
            ["checked_in_by_id"], ["users.id"], name=op.f("fk_test_bookings_checked_in_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["diagnosis_order_id"],
            ["diagnosis_orders.id"],
            name=op.f("fk_test_bookings_diagnosis_order_id_diagnosis_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_test_bookings_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_test_bookings_patient_id_patients")),
        sa.ForeignKeyConstraint(
            ["request_id"], ["test_requests.id"], name=op.f("fk_test_bookings_request_id_test_requests")
        ),
        sa.ForeignKeyConstraint(
            ["test_id"], ["test_catalogue.id"], name=op.f("fk_test_bookings_test_id_test_catalogue")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_bookings")),
    )
    with op.batch_alter_table("test_bookings", schema=None) as batch_op:
        batch_op.create_index("ix_test_bookings_facility_day", ["facility_id", "starts_at"], unique=False)
        batch_op.create_index("ix_test_bookings_patient", ["patient_id", "starts_at"], unique=False)
        batch_op.create_index("ix_test_bookings_state_time", ["state", "starts_at"], unique=False)

    op.create_table(
        "test_lab_orders",
        sa.Column("id", ID, nullable=False),
        sa.Column("booking_id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("facility_id", ID, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("display", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("ordering_user_id", ID, nullable=True),
        sa.Column("placed_by_id", ID, nullable=False),
        sa.Column("observation_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", carebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resulted_at", carebridge.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resulted_by_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["test_bookings.id"], name=op.f("fk_test_lab_orders_booking_id_test_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_test_lab_orders_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(
            ["ordering_user_id"], ["users.id"], name=op.f("fk_test_lab_orders_ordering_user_id_users")
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_test_lab_orders_patient_id_patients")),
        sa.ForeignKeyConstraint(["placed_by_id"], ["users.id"], name=op.f("fk_test_lab_orders_placed_by_id_users")),
        sa.ForeignKeyConstraint(["resulted_by_id"], ["users.id"], name=op.f("fk_test_lab_orders_resulted_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_lab_orders")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_test_lab_orders_booking_id")),
    )
    with op.batch_alter_table("test_lab_orders", schema=None) as batch_op:
        batch_op.create_index("ix_test_lab_orders_facility_state", ["facility_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_test_lab_orders_patient_id"), ["patient_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("test_lab_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_test_lab_orders_patient_id"))
        batch_op.drop_index("ix_test_lab_orders_facility_state")

    op.drop_table("test_lab_orders")
    with op.batch_alter_table("test_bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_test_bookings_state_time")
        batch_op.drop_index("ix_test_bookings_patient")
        batch_op.drop_index("ix_test_bookings_facility_day")

    op.drop_table("test_bookings")
    op.drop_table("test_slot_counts")
    with op.batch_alter_table("test_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_test_requests_patient_state")

    op.drop_table("test_requests")
    with op.batch_alter_table("test_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_test_hours_test_id"))

    op.drop_table("test_hours")
    with op.batch_alter_table("test_catalogue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_test_catalogue_facility_id"))
        batch_op.drop_index("ix_test_catalogue_code_active")

    op.drop_table("test_catalogue")
