"""consultations: response-time breaches and live-session appointments

Revision ID: 0007_scheduling
Revises: 0006_team
"""
import sqlalchemy as sa
from alembic import op

import carebridge.db

revision = "0007_scheduling"
down_revision = "0006_team"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = carebridge.db.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    t = "consultation_breaches"
    op.create_table(
        t,
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("target_facility_id", ID, nullable=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("detected_at", WHEN, nullable=False),
        sa.Column("escalated_to_facility_id", ID, nullable=True),
        sa.Column("escalated_to_user_id", ID, nullable=True),
        _fk(t, "case_id", "consultation_cases"),
        _fk(t, "target_facility_id", "facilities"),
        _fk(t, "escalated_to_facility_id", "facilities"),
        _fk(t, "escalated_to_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("case_id", "due_at", name="uq_consultation_breaches_case_due"),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consultation_breaches_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_consultation_breaches_target", ["target_facility_id", "id"], unique=False)

    t = "consultation_appointments"
    op.create_table(
        t,
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("starts_at", WHEN, nullable=True),
        sa.Column("ends_at", WHEN, nullable=True),
        sa.Column("proposed_starts_at", WHEN, nullable=True),
        sa.Column("proposed_ends_at", WHEN, nullable=True),
        sa.Column("proposed_by_user_id", ID, nullable=True),
        sa.Column("proposed_side", sa.String(length=20), nullable=False),
        sa.Column("proposal_note", sa.String(length=2000), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("cancelled_at", WHEN, nullable=True),
        sa.Column("cancel_reason", sa.String(length=2000), nullable=False),
        sa.Column("reminder_sent_at", WHEN, nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        _fk(t, "case_id", "consultation_cases"),
        _fk(t, "proposed_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("case_id", name=op.f(f"uq_{t}_case_id")),
    )


def downgrade() -> None:
    op.drop_table("consultation_appointments")
    op.drop_table("consultation_breaches")
