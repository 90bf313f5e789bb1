"""delivery: medicine orders (pickup or delivery), their lines and timeline, remembered addresses,
and the log of courier webhook calls

Revision ID: 0012_delivery
Revises: 0011_merge_diagnostics
"""
import sqlalchemy as sa
from alembic import op

import carebridge.db

revision = "0012_delivery"
down_revision = "0011_merge_diagnostics"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = carebridge.db.UTCDateTime(timezone=True)


def _orders() -> None:
    op.create_table(
        "delivery_orders",
        sa.Column("id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("facility_id", ID, nullable=False),
        sa.Column("source_kind", sa.String(length=30), nullable=False),
        sa.Column("source_id", ID, nullable=False),
        sa.Column("claim_key", sa.String(length=60), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("cold_chain", sa.Boolean(), nullable=False),
        sa.Column("drugs_fen", sa.Integer(), nullable=False),
        sa.Column("fees_fen", sa.Integer(), nullable=False),
        sa.Column("total_fen", sa.Integer(), nullable=False),
        sa.Column("charge_id", ID, nullable=True),
        sa.Column("recipient", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("address_detail", sa.String(length=200), nullable=False),
        sa.Column("courier", sa.String(length=20), nullable=True),
        sa.Column("tracking_number", sa.String(length=40), nullable=True),
        sa.Column("pickup_code", sa.String(length=6), nullable=False),
        sa.Column("state_reason", sa.String(length=500), nullable=False),
        sa.Column("created_by_id", ID, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("closed_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_delivery_orders_patient_id_patients")),
        sa.ForeignKeyConstraint(["facility_id"], ["facilities.id"],
                                name=op.f("fk_delivery_orders_facility_id_facilities")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_delivery_orders_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_orders")),
        sa.UniqueConstraint("claim_key", name=op.f("uq_delivery_orders_claim_key")),
        sa.UniqueConstraint("courier", "tracking_number", name=op.f("uq_delivery_orders_courier_tracking_number")),
    )
    with op.batch_alter_table("delivery_orders", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_orders_facility_state", ["facility_id", "state", "id"], unique=False)
        batch_op.create_index("ix_delivery_orders_patient", ["patient_id", "id"], unique=False)


def _lines_and_events() -> None:
    op.create_table(
        "delivery_lines",
        sa.Column("id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("unit_fen", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("insured", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["delivery_orders.id"],
                                name=op.f("fk_delivery_lines_order_id_delivery_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_lines")),
    )
    with op.batch_alter_table("delivery_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_lines_order_id"), ["order_id"], unique=False)
    op.create_table(
        "delivery_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("courier_event", sa.String(length=20), nullable=False),
        sa.Column("party", sa.String(length=10), nullable=False),
        sa.Column("actor_user_id", ID, nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("occurred_at", UTC, nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["delivery_orders.id"],
                                name=op.f("fk_delivery_events_order_id_delivery_orders")),
        sa.ForeignKeyConstraint(["actor_user_id"], ["users.id"], name=op.f("fk_delivery_events_actor_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_events")),
    )
    with op.batch_alter_table("delivery_events", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_events_order_time", ["order_id", "occurred_at", "id"], unique=False)


def _addresses_and_courier_events() -> None:
    op.create_table(
        "delivery_addresses",
        sa.Column("id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("recipient", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", ID, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_used_at", UTC, nullable=False),
        sa.Column("forgotten_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_delivery_addresses_patient_id_patients")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_delivery_addresses_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_addresses")),
    )
    with op.batch_alter_table("delivery_addresses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_addresses_patient_id"), ["patient_id"], unique=False)
    op.create_table(
        "delivery_courier_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("courier", sa.String(length=20), nullable=False),
        sa.Column("dedupe_key", sa.String(length=140), nullable=True),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("tracking_number", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", UTC, nullable=True),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("order_id", ID, nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("problem", sa.String(length=200), nullable=False),
        sa.Column("remote_ip", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["delivery_orders.id"],
                                name=op.f("fk_delivery_courier_events_order_id_delivery_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_courier_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_delivery_courier_events_dedupe_key")),
    )
    with op.batch_alter_table("delivery_courier_events", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_courier_events_received", ["courier", "received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_courier_events_order_id"), ["order_id"], unique=False)


def upgrade() -> None:
    _orders()
    _lines_and_events()
    _addresses_and_courier_events()


def downgrade() -> None:
    for table in ("delivery_courier_events", "delivery_addresses", "delivery_events", "delivery_lines",
                  "delivery_orders"):
        op.drop_table(table)
