"""room: the case chat with shared files, and attendance of the live session

Revision ID: 0006_room
Revises: 0005_consultations, 0005_referrals
"""
import sqlalchemy as sa
from alembic import op

import carebridge.db

revision = "0006_room"
down_revision = ("0005_consultations", "0005_referrals")
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = carebridge.db.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def _messages() -> None:
    t = "consultation_messages"
    op.create_table(
        t,
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("author_user_id", ID, nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.String(length=4000), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("attachment_digest", sa.String(length=64), nullable=True),
        sa.Column("attachment_name", sa.String(length=200), nullable=True),
        sa.Column("attachment_type", sa.String(length=50), nullable=True),
        sa.Column("attachment_size", sa.Integer(), nullable=True),
        _fk(t, "case_id", "consultation_cases"),
        _fk(t, "author_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index("ix_consultation_messages_case", ["case_id", "id"], unique=False)


def _attendance() -> None:
    t = "consultation_session_attendance"
    op.create_table(
        t,
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("joined_at", WHEN, nullable=False),
        sa.Column("left_at", WHEN, nullable=True),
        _fk(t, "case_id", "consultation_cases"),
        _fk(t, "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("connection_id", name=op.f(f"uq_{t}_connection_id")),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index("ix_consultation_session_attendance_case", ["case_id", "joined_at"], unique=False)


def upgrade() -> None:
    _messages()
    _attendance()


def downgrade() -> None:
    op.drop_table("consultation_session_attendance")
    op.drop_table("consultation_messages")
