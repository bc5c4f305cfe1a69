"""claim indexes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 12:23:36.278766
"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('task_skips', schema=None) as batch_op:
        batch_op.create_index('ix_task_skips_annotator', ['annotator_id'], unique=False)

    with op.batch_alter_table('task_slots', schema=None) as batch_op:
        batch_op.create_index('ix_task_slots_claim', ['project_id', 'state', 'task_id', 'slot'], unique=False)
        batch_op.create_index('ix_task_slots_holder', ['project_id', 'annotator_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('task_slots', schema=None) as batch_op:
        batch_op.drop_index('ix_task_slots_holder')
        batch_op.drop_index('ix_task_slots_claim')

    with op.batch_alter_table('task_skips', schema=None) as batch_op:
        batch_op.drop_index('ix_task_skips_annotator')

