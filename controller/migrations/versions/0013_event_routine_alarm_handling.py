"""events.routine (heartbeats kept out of the feeds); alarms: repeats counted, acknowledgement
note and time, assignment

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 10:00:00.000000
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table('events') as batch:
        batch.add_column(sa.Column('routine', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('alarms') as batch:
        batch.add_column(sa.Column('repeats', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('last_raised_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('ack_note', sa.Text(), server_default='', nullable=False))
        batch.add_column(sa.Column('assigned_to', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
    _mark_routine_events()


def _mark_routine_events() -> None:
    """Events stored before the flag: recorded segments and change progress are routine, and so
    is a camera's or gate's state report that repeats the one before it."""
    conn = op.get_bind()
    events = sa.table('events', sa.column('id'), sa.column('agent_id'), sa.column('kind'),
                      sa.column('data'), sa.column('routine'))
    conn.execute(events.update().where(events.c.kind.in_(('segment.recorded', 'network.change_progress')))
                 .values(routine=True))
    last: dict = {}
    routine: list[int] = []
    rows = conn.execute(sa.select(events.c.id, events.c.agent_id, events.c.kind, events.c.data)
                        .where(events.c.kind.in_(('camera.state', 'gate.state'))).order_by(events.c.id))
    for id_, agent_id, kind, data in rows:
        d = json.loads(data) if isinstance(data, str) else (data or {})
        if kind == 'camera.state':
            subject, said = ('camera', agent_id, d.get('camera')), d.get('state')
        else:
            subject, said = ('gate', agent_id, d.get('gate')), (d.get('state'), d.get('online'))
        if subject in last and last[subject] == said:
            routine.append(id_)
        last[subject] = said
    for i in range(0, len(routine), BATCH):
        conn.execute(events.update().where(events.c.id.in_(routine[i:i + BATCH])).values(routine=True))


def downgrade() -> None:
    with op.batch_alter_table('alarms') as batch:
        for name in ('assigned_at', 'assigned_to', 'ack_note', 'acknowledged_at', 'last_raised_at', 'repeats'):
            batch.drop_column(name)
    with op.batch_alter_table('events') as batch:
        batch.drop_column('routine')
