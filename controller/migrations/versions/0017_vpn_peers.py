"""remote work over WireGuard: peers, and network changes of other kinds (vpn peers, remote rules)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 21:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('network_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), server_default='acl', nullable=False))
        batch_op.add_column(sa.Column('spec', sa.JSON(), nullable=True))
    op.create_table(
        'vpn_peers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('person', sa.String(length=64), nullable=False),
        sa.Column('label', sa.String(length=100), nullable=False),
        sa.Column('public_key', sa.String(length=44), nullable=False),
        sa.Column('address', sa.String(length=15), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('add_change', sa.String(length=40), nullable=True),
        sa.Column('remove_change', sa.String(length=40), nullable=True),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('active_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_by', sa.String(length=64), nullable=True),
        sa.Column('end_reason', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('vpn_peers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vpn_peers_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vpn_peers_status'), ['status'], unique=False)


def downgrade() -> None:
    op.drop_table('vpn_peers')
    with op.batch_alter_table('network_changes', schema=None) as batch_op:
        batch_op.drop_column('spec')
        batch_op.drop_column('kind')
