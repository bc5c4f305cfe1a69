"""a partial index of each project's gold items (every claim counts the unseen ones)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 18:49:28.101455
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index('ix_items_gold', ['project_id'], unique=False, postgresql_where=sa.text('is_gold IS true'), sqlite_where=sa.text('is_gold IS true'))



def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_gold', postgresql_where=sa.text('is_gold IS true'), sqlite_where=sa.text('is_gold IS true'))

