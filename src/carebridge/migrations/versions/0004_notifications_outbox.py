"""notifications: the delivery outbox for email, SMS and console channels

Revision ID: 0004_notifications
Revises: 0003_records
"""
import sqlalchemy as sa
from alembic import op

import carebridge.db

revision = "0004_notifications"
down_revision = "0003_records"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notification_deliveries",
        sa.Column("id", ID, nullable=False),
        sa.Column("notification_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", carebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("created_at", carebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", carebridge.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["notification_id"], ["notifications.id"],
                                name=op.f("fk_notification_deliveries_notification_id_notifications")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notification_deliveries_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
    )
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_notification_deliveries_due", ["status", "next_attempt_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_deliveries_notification_id"), ["notification_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_deliveries_notification_id"))
        batch_op.drop_index("ix_notification_deliveries_due")
    op.drop_table("notification_deliveries")
