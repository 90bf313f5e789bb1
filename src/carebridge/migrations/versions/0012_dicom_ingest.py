"""dicom-ingest: ECG recordings sent as DICOM waveforms (by a DICOM peer, before their order is known);
the database counts each series' and study's DICOM instances itself

Revision ID: 0012_dicom_ingest
Revises: 0011_merge_diagnostics
Create Date: 2026-11-23 04:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_dicom_ingest'
down_revision = '0011_merge_diagnostics'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


# One indexed instance more in its series and its study: counted in the INSERT's own statement, so
# the listener's hot path sends one statement instead of three and no way in can forget to count.
# (SQLite drops a table's triggers when a batch migration recreates it: re-create them after one.)
_COUNT = ("UPDATE dicom_series SET instance_count = instance_count + 1 WHERE id = NEW.series_id; "
          "UPDATE dicom_studies SET instance_count = instance_count + 1 WHERE study_id = NEW.study_id;")


def upgrade() -> None:
    with op.batch_alter_table('ecg_recordings', schema=None) as batch_op:
        batch_op.alter_column('order_id', existing_type=_ID, nullable=True)
        batch_op.alter_column('uploaded_by_id', existing_type=_ID, nullable=True)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION dicom_instances_count() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$$ BEGIN {_COUNT} RETURN NULL; END $$")
        op.execute("CREATE TRIGGER dicom_instances_count AFTER INSERT ON dicom_instances "
                   "FOR EACH ROW EXECUTE FUNCTION dicom_instances_count()")
    else:
        op.execute(f"CREATE TRIGGER dicom_instances_count AFTER INSERT ON dicom_instances BEGIN {_COUNT} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS dicom_instances_count ON dicom_instances")
        op.execute("DROP FUNCTION IF EXISTS dicom_instances_count()")
    else:
        op.execute("DROP TRIGGER IF EXISTS dicom_instances_count")
    # Refused (NOT NULL) while recordings sent by DICOM peers exist: clinical rows are not deleted.
    with op.batch_alter_table('ecg_recordings', schema=None) as batch_op:
        batch_op.alter_column('uploaded_by_id', existing_type=_ID, nullable=False)
        batch_op.alter_column('order_id', existing_type=_ID, nullable=False)
