"""emergency plans (versioned, with checklists) and drills (lanes released, muster, findings)

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('emergency_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.JSON(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('checklist', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name='fk_emergency_plans_site'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('site_id', 'kind', 'version', name='uq_emergency_plans_version')
    )
    op.create_index(op.f('ix_emergency_plans_site_id'), 'emergency_plans', ['site_id'], unique=False)
    op.create_table('drills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('scenario', sa.String(length=32), nullable=False),
    sa.Column('trigger', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_by', sa.String(length=64), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=64), nullable=True),
    sa.Column('lanes', sa.JSON(), nullable=False),
    sa.Column('roll', sa.JSON(), nullable=False),
    sa.Column('safe', sa.JSON(), nullable=False),
    sa.Column('accounted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checklist', sa.JSON(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('passback_reset', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['emergency_plans.id'], name='fk_drills_plan'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name='fk_drills_site'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_drills_site_id'), 'drills', ['site_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_drills_site_id'), table_name='drills')
    op.drop_table('drills')
    op.drop_index(op.f('ix_emergency_plans_site_id'), table_name='emergency_plans')
    op.drop_table('emergency_plans')
