"""visits: online follow-up visits (slot series, daily counters, slots, visits, the visit chat)

Revision ID: 0012_visits
Revises: 0011_merge_diagnostics
"""
import sqlalchemy as sa
from alembic import op

import carebridge.db

revision = "0012_visits"
down_revision = "0011_merge_diagnostics"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = carebridge.db.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table("visit_series",
        sa.Column("id", ID, nullable=False),
        sa.Column("doctor_user_id", ID, nullable=False),
        sa.Column("facility_id", ID, nullable=False),
        sa.Column("department_id", ID, nullable=True),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("weekdays", sa.String(length=7), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.Column("visit_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("daily_max", sa.Integer(), nullable=False),
        sa.Column("cancel_cutoff_hours", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("withdrawn_at", WHEN, nullable=True),
        _fk("visit_series", "department_id", "departments"),
        _fk("visit_series", "doctor_user_id", "users"),
        _fk("visit_series", "facility_id", "facilities"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_series"))
    )
    op.create_index("ix_visit_series_doctor", "visit_series", ["doctor_user_id", "first_day"], unique=False)
    op.create_table("visit_days",
        sa.Column("id", ID, nullable=False),
        sa.Column("series_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        _fk("visit_days", "series_id", "visit_series"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_days")),
        sa.UniqueConstraint("series_id", "day", name=op.f("uq_visit_days_series_id_day"))
    )
    op.create_table("visit_slots",
        sa.Column("id", ID, nullable=False),
        sa.Column("series_id", ID, nullable=False),
        sa.Column("day_id", ID, nullable=False),
        sa.Column("doctor_user_id", ID, nullable=False),
        sa.Column("facility_id", ID, nullable=False),
        sa.Column("starts_at", WHEN, nullable=False),
        sa.Column("ends_at", WHEN, nullable=False),
        sa.Column("taken", sa.Boolean(), nullable=False),
        sa.Column("withdrawn_at", WHEN, nullable=True),
        _fk("visit_slots", "day_id", "visit_days"),
        _fk("visit_slots", "doctor_user_id", "users"),
        _fk("visit_slots", "facility_id", "facilities"),
        _fk("visit_slots", "series_id", "visit_series"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_slots"))
    )
    op.create_index("ix_visit_slots_doctor_time", "visit_slots", ["doctor_user_id", "starts_at"], unique=False)
    op.create_index("ix_visit_slots_facility_time", "visit_slots", ["facility_id", "starts_at"], unique=False)
    op.create_index(op.f("ix_visit_slots_series_id"), "visit_slots", ["series_id"], unique=False)
    op.create_table("visits",
        sa.Column("id", ID, nullable=False),
        sa.Column("slot_id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("doctor_user_id", ID, nullable=False),
        sa.Column("facility_id", ID, nullable=False),
        sa.Column("department_id", ID, nullable=True),
        sa.Column("condition_id", ID, nullable=False),
        sa.Column("condition_code", sa.String(length=10), nullable=False),
        sa.Column("condition_display", sa.String(length=300), nullable=False),
        sa.Column("complaint", sa.String(length=1000), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("starts_at", WHEN, nullable=False),
        sa.Column("ends_at", WHEN, nullable=False),
        sa.Column("cancel_until", WHEN, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_reason", sa.String(length=500), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("booked_by_id", ID, nullable=False),
        sa.Column("charge_id", ID, nullable=True),
        sa.Column("registered_by_booking", sa.Boolean(), nullable=False),
        sa.Column("reminder_sent_at", WHEN, nullable=True),
        sa.Column("checked_in_at", WHEN, nullable=True),
        sa.Column("started_at", WHEN, nullable=True),
        sa.Column("ended_at", WHEN, nullable=True),
        sa.Column("encounter_id", ID, nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        _fk("visits", "booked_by_id", "users"),
        _fk("visits", "condition_id", "record_entries"),
        _fk("visits", "department_id", "departments"),
        _fk("visits", "doctor_user_id", "users"),
        _fk("visits", "encounter_id", "record_entries"),
        _fk("visits", "facility_id", "facilities"),
        _fk("visits", "patient_id", "patients"),
        _fk("visits", "slot_id", "visit_slots"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits"))
    )
    op.create_index("ix_visits_doctor_time", "visits", ["doctor_user_id", "starts_at"], unique=False)
    op.create_index("ix_visits_patient_time", "visits", ["patient_id", "starts_at"], unique=False)
    op.create_index(op.f("ix_visits_slot_id"), "visits", ["slot_id"], unique=False)
    op.create_index("ix_visits_state_time", "visits", ["state", "starts_at"], unique=False)
    op.create_table("visit_messages",
        sa.Column("id", ID, nullable=False),
        sa.Column("visit_id", ID, nullable=False),
        sa.Column("author_user_id", ID, nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.String(length=4000), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _fk("visit_messages", "author_user_id", "users"),
        _fk("visit_messages", "visit_id", "visits"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_messages"))
    )
    op.create_index("ix_visit_messages_visit", "visit_messages", ["visit_id", "id"], unique=False)


def downgrade() -> None:
    for index, table in (("ix_visit_messages_visit", "visit_messages"), ("ix_visits_state_time", "visits"),
                         ("ix_visits_slot_id", "visits"), ("ix_visits_patient_time", "visits"),
                         ("ix_visits_doctor_time", "visits"), ("ix_visit_slots_series_id", "visit_slots"),
                         ("ix_visit_slots_facility_time", "visit_slots"), ("ix_visit_slots_doctor_time", "visit_slots"),
                         ("ix_visit_series_doctor", "visit_series")):
        op.drop_index(index, table_name=table)
    for table in ("visit_messages", "visits", "visit_slots", "visit_days", "visit_series"):
        op.drop_table(table)
