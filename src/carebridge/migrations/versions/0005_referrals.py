"""referrals: two-way referral between facilities

Revision ID: 0005_referrals
Revises: 0004_notifications
"""
import sqlalchemy as sa
from alembic import op

import carebridge.db

revision = "0005_referrals"
down_revision = "0004_notifications"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("from_facility_id", ID, nullable=False),
        sa.Column("to_facility_id", ID, nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("summary", sa.String(length=2000), nullable=False),
        sa.Column("plan", sa.String(length=2000), nullable=False),
        sa.Column("follow_up_days", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_reason", sa.String(length=500), nullable=False),
        sa.Column("requested_by_id", ID, nullable=False),
        sa.Column("grant_id", ID, nullable=True),
        sa.Column("created_at", carebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", carebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", carebridge.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_referrals_patient_id_patients")),
        sa.ForeignKeyConstraint(["from_facility_id"], ["facilities.id"],
                                name=op.f("fk_referrals_from_facility_id_facilities")),
        sa.ForeignKeyConstraint(["to_facility_id"], ["facilities.id"],
                                name=op.f("fk_referrals_to_facility_id_facilities")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"], name=op.f("fk_referrals_requested_by_id_users")),
        sa.ForeignKeyConstraint(["grant_id"], ["access_grants.id"],
                                name=op.f("fk_referrals_grant_id_access_grants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index("ix_referrals_from_facility", ["from_facility_id", "id"], unique=False)
        batch_op.create_index("ix_referrals_to_facility", ["to_facility_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_referrals_patient_id"), ["patient_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_patient_id"))
        batch_op.drop_index("ix_referrals_to_facility")
        batch_op.drop_index("ix_referrals_from_facility")
    op.drop_table("referrals")
