"""one head again after the consultation features were built side by side

Revision ID: 0008_merge
Revises: 0006_analytics, 0006_room, 0007_opinion, 0007_scheduling
"""

revision = "0008_merge"
down_revision = ("0006_analytics", "0006_room", "0007_opinion", "0007_scheduling")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
