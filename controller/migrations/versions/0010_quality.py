"""quality: gold share and accuracy target per project, synthesis and proposals per item, item links,
pauses, snapshots and releases

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 14:59:37.430301
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quality_pauses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('annotator_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('paused_by', sa.String(length=64), nullable=False),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lifted_by', sa.String(length=64), nullable=True),
    sa.Column('lift_note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['annotator_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quality_pauses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_pauses_annotator_id'), ['annotator_id'], unique=False)
        batch_op.create_index('ix_quality_pauses_open', ['project_id', 'annotator_id', 'lifted_at'], unique=False)

    op.create_table('quality_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quality_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_quality_snapshots_project_at', ['project_id', 'at'], unique=False)

    op.create_table('releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=True),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('missing', sa.JSON(), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_releases_project_id'), ['project_id'], unique=False)

    op.create_table('item_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('group_key', sa.String(length=100), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'group_key', 'item_id', name='uq_item_links')
    )
    with op.batch_alter_table('item_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_links_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_links_project_id'), ['project_id'], unique=False)

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_item_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('recipe', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('proposal', sa.JSON(), nullable=True))
        batch_op.create_foreign_key('fk_items_source_item_id', 'items', ['source_item_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gold_share', sa.Float(), server_default='0.1', nullable=False))
        batch_op.add_column(sa.Column('accuracy_target', sa.Float(), server_default='0.95', nullable=False))
        batch_op.add_column(sa.Column('crossmodal', sa.JSON(), server_default='{}', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('crossmodal')
        batch_op.drop_column('accuracy_target')
        batch_op.drop_column('gold_share')

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_constraint('fk_items_source_item_id', type_='foreignkey')
        batch_op.drop_column('proposal')
        batch_op.drop_column('recipe')
        batch_op.drop_column('source_item_id')

    with op.batch_alter_table('item_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_links_project_id'))
        batch_op.drop_index(batch_op.f('ix_item_links_item_id'))

    op.drop_table('item_links')
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_releases_project_id'))

    op.drop_table('releases')
    with op.batch_alter_table('quality_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_quality_snapshots_project_at')

    op.drop_table('quality_snapshots')
    with op.batch_alter_table('quality_pauses', schema=None) as batch_op:
        batch_op.drop_index('ix_quality_pauses_open')
        batch_op.drop_index(batch_op.f('ix_quality_pauses_annotator_id'))

    op.drop_table('quality_pauses')
