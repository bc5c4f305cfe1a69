"""network changes, approvals, vlan policies

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 18:24:56.773759
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('network_changes',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('customers', sa.JSON(), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('devices', sa.JSON(), nullable=False),
    sa.Column('analysis', sa.JSON(), nullable=False),
    sa.Column('expires', sa.String(length=30), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('network_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_changes_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_network_changes_status'), ['status'], unique=False)

    op.create_table('vlan_policies',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('vlan_id', sa.Integer(), nullable=False),
    sa.Column('allows', sa.JSON(), nullable=False),
    sa.Column('change_id', sa.String(length=40), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'vlan_id')
    )
    op.create_table('network_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('change_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('signature', sa.String(length=200), nullable=True),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['change_id'], ['network_changes.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('change_id', 'customer_id')
    )
    with op.batch_alter_table('network_approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_approvals_change_id'), ['change_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('network_approvals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_network_approvals_change_id'))

    op.drop_table('network_approvals')
    op.drop_table('vlan_policies')
    with op.batch_alter_table('network_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_network_changes_status'))
        batch_op.drop_index(batch_op.f('ix_network_changes_site_id'))

    op.drop_table('network_changes')
