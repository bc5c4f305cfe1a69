"""floor plans: camera calibrations (versioned) and the blind area per hour

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('camera_calibrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('camera', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('pairs', sa.JSON(), nullable=False),
    sa.Column('homography', sa.JSON(), nullable=False),
    sa.Column('rms_m', sa.Float(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name='fk_camera_calibrations_site'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('site_id', 'camera', 'version', name='uq_camera_calibrations_version')
    )
    op.create_index(op.f('ix_camera_calibrations_site_id'), 'camera_calibrations', ['site_id'], unique=False)
    op.create_table('blind_area_hours',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('area', sa.String(length=64), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('work_area_m2', sa.Float(), nullable=False),
    sa.Column('max_blind_m2', sa.Float(), nullable=False),
    sa.Column('last_blind_m2', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name='fk_blind_area_hours_site'),
    sa.PrimaryKeyConstraint('site_id', 'area', 'hour')
    )


def downgrade() -> None:
    op.drop_table('blind_area_hours')
    op.drop_index(op.f('ix_camera_calibrations_site_id'), table_name='camera_calibrations')
    op.drop_table('camera_calibrations')
