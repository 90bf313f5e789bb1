"""consultations: multi-disciplinary team seats

Revision ID: 0006_team
Revises: 0005_consultations, 0005_referrals
"""
import sqlalchemy as sa
from alembic import op

import carebridge.db

revision = "0006_team"
down_revision = ("0005_consultations", "0005_referrals")
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = carebridge.db.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    t = "consultation_team_seats"
    op.create_table(
        t,
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("department_id", ID, nullable=True),
        sa.Column("member_user_id", ID, nullable=True),
        sa.Column("invited_by_user_id", ID, nullable=True),
        sa.Column("invited_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        _fk(t, "case_id", "consultation_cases"),
        _fk(t, "department_id", "departments"),
        _fk(t, "member_user_id", "users"),
        _fk(t, "invited_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("case_id", "member_user_id", name="uq_consultation_team_seats_case_member"),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consultation_team_seats_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("consultation_team_seats")
