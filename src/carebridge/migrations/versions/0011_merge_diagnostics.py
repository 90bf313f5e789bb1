"""one head again after the remote diagnosis features were built side by side

Revision ID: 0011_merge_diagnostics
Revises: 0010_ecg, 0010_imaging_ingest, 0010_pathology, 0010_reports, 0010_worklist
"""

revision = "0011_merge_diagnostics"
down_revision = ("0010_ecg", "0010_imaging_ingest", "0010_pathology", "0010_reports", "0010_worklist")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
