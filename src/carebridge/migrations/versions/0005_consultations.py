"""consultations: the case, its timeline and the record items it shares

Revision ID: 0005_consultations
Revises: 0004_notifications
"""
import sqlalchemy as sa
from alembic import op

import carebridge.db

revision = "0005_consultations"
down_revision = "0004_notifications"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = carebridge.db.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def _cases() -> None:
    t = "consultation_cases"
    op.create_table(
        t,
        sa.Column("id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("requesting_facility_id", ID, nullable=False),
        sa.Column("requesting_doctor_id", ID, nullable=False),
        sa.Column("question", sa.String(length=2000), nullable=False),
        sa.Column("clinical_summary", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("specialty_department_id", ID, nullable=True),
        sa.Column("named_expert_id", ID, nullable=True),
        sa.Column("target_facility_id", ID, nullable=True),
        sa.Column("assigned_expert_id", ID, nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("due_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("closed_at", WHEN, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk(t, "patient_id", "patients"),
        _fk(t, "requesting_facility_id", "facilities"),
        _fk(t, "requesting_doctor_id", "users"),
        _fk(t, "specialty_department_id", "departments"),
        _fk(t, "named_expert_id", "users"),
        _fk(t, "target_facility_id", "facilities"),
        _fk(t, "assigned_expert_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consultation_cases_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index("ix_consultation_cases_requester", ["requesting_doctor_id", "id"], unique=False)
        batch_op.create_index("ix_consultation_cases_target", ["target_facility_id", "id"], unique=False)


def upgrade() -> None:
    _cases()
    t = "consultation_case_events"
    op.create_table(
        t,
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor_user_id", ID, nullable=True),
        sa.Column("actor_part", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=False),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        _fk(t, "case_id", "consultation_cases"),
        _fk(t, "actor_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consultation_case_events_case_id"), ["case_id"], unique=False)
    t = "consultation_shared_items"
    op.create_table(
        t,
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        _fk(t, "case_id", "consultation_cases"),
        _fk(t, "entry_id", "record_entries"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("case_id", "entry_id", name="uq_consultation_shared_items_case_entry"),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consultation_shared_items_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("consultation_shared_items")
    op.drop_table("consultation_case_events")
    op.drop_table("consultation_cases")
