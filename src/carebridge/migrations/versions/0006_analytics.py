"""analytics: find the consultation cases submitted in a period by their timeline events

Revision ID: 0006_analytics
Revises: 0005_consultations, 0005_referrals
"""
from alembic import op

revision = "0006_analytics"
down_revision = ("0005_consultations", "0005_referrals")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consultation_case_events", schema=None) as batch_op:
        batch_op.create_index("ix_consultation_case_events_action_at", ["action", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("consultation_case_events", schema=None) as batch_op:
        batch_op.drop_index("ix_consultation_case_events_action_at")
