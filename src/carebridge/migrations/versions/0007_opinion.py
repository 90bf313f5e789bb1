"""consultations: the structured opinion, its team sections and addenda

Revision ID: 0007_opinion
Revises: 0006_team
"""
import sqlalchemy as sa
from alembic import op

import carebridge.db

revision = "0007_opinion"
down_revision = "0006_team"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = carebridge.db.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def _opinions() -> None:
    t = "consultation_opinions"
    op.create_table(
        t,
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("assessment", sa.Text(), nullable=False),
        sa.Column("diagnoses", sa.JSON(), nullable=False),
        sa.Column("recommendations", sa.Text(), nullable=False),
        sa.Column("treatment_plan", sa.Text(), nullable=False),
        sa.Column("referral_advice", sa.String(length=12), nullable=False),
        sa.Column("referral_note", sa.String(length=2000), nullable=False),
        sa.Column("follow_up_days", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by_id", ID, nullable=True),
        sa.Column("signed_at", WHEN, nullable=True),
        sa.Column("signed_by_id", ID, nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("document_entry_id", ID, nullable=True),
        sa.Column("referral_id", ID, nullable=True),
        sa.Column("follow_up_due_at", WHEN, nullable=True),
        sa.Column("follow_up_reminded_at", WHEN, nullable=True),
        sa.Column("outcome", sa.String(length=2000), nullable=False),
        sa.Column("outcome_recorded_at", WHEN, nullable=True),
        sa.Column("outcome_by_id", ID, nullable=True),
        _fk(t, "case_id", "consultation_cases"),
        _fk(t, "updated_by_id", "users"),
        _fk(t, "signed_by_id", "users"),
        _fk(t, "document_entry_id", "record_entries"),
        _fk(t, "referral_id", "referrals"),
        _fk(t, "outcome_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("case_id", name=op.f(f"uq_{t}_case_id")),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{t}_follow_up_due_at"), ["follow_up_due_at"], unique=False)


def _sections() -> None:
    t = "consultation_opinion_sections"
    op.create_table(
        t,
        sa.Column("id", ID, nullable=False),
        sa.Column("opinion_id", ID, nullable=False),
        sa.Column("author_id", ID, nullable=False),
        sa.Column("department_id", ID, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        _fk(t, "opinion_id", "consultation_opinions"),
        _fk(t, "author_id", "users"),
        _fk(t, "department_id", "departments"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("opinion_id", "author_id", name="uq_consultation_opinion_sections_author"),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{t}_opinion_id"), ["opinion_id"], unique=False)


def _addenda() -> None:
    t = "consultation_opinion_addenda"
    op.create_table(
        t,
        sa.Column("id", ID, nullable=False),
        sa.Column("opinion_id", ID, nullable=False),
        sa.Column("author_id", ID, nullable=False),
        sa.Column("author_part", sa.String(length=20), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        _fk(t, "opinion_id", "consultation_opinions"),
        _fk(t, "author_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{t}_opinion_id"), ["opinion_id"], unique=False)


def upgrade() -> None:
    _opinions()
    _sections()
    _addenda()


def downgrade() -> None:
    op.drop_table("consultation_opinion_addenda")
    op.drop_table("consultation_opinion_sections")
    op.drop_table("consultation_opinions")
