"""pathology: slides of pathology orders

Revision ID: 0010_pathology
Revises: 0009_diagnostics
"""
from alembic import op
import sqlalchemy as sa
import carebridge.db


revision = '0010_pathology'
down_revision = '0009_diagnostics'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('pathology_slides',
    sa.Column('id', ID, nullable=False),
    sa.Column('order_id', ID, nullable=False),
    sa.Column('study_id', ID, nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('stain', sa.String(length=64), nullable=False),
    sa.Column('block', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('format', sa.String(length=32), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('level_count', sa.Integer(), nullable=False),
    sa.Column('mpp_x', sa.Float(), nullable=True),
    sa.Column('mpp_y', sa.Float(), nullable=True),
    sa.Column('objective_power', sa.Float(), nullable=True),
    sa.Column('associated', sa.JSON(), nullable=False),
    sa.Column('blob_digest', sa.String(length=64), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by_id', ID, nullable=False),
    sa.Column('uploaded_at', carebridge.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['diagnosis_orders.id'], name=op.f('fk_pathology_slides_order_id_diagnosis_orders')),
    sa.ForeignKeyConstraint(['study_id'], ['diagnostic_studies.id'], name=op.f('fk_pathology_slides_study_id_diagnostic_studies')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_pathology_slides_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pathology_slides')),
    sa.UniqueConstraint('order_id', 'blob_digest', name=op.f('uq_pathology_slides_order_id_blob_digest'))
    )
    op.create_index(op.f('ix_pathology_slides_order_id'), 'pathology_slides', ['order_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_pathology_slides_order_id'), table_name='pathology_slides')
    op.drop_table('pathology_slides')
