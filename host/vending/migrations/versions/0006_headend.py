"""The head-end's tables (issue 16): each online meter's last state, readings (partitioned
by time on PostgreSQL, with a default partition and monthly ones the head-end adds in the
schema ``readings_parts``), events, alarms, the notification outbox and contacts, signed
commands and bulk-command batches awaiting their second person.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

PARTS = "readings_parts"


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table('online_meters',
    sa.Column('pan', sa.String(length=18), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('status_at', sa.DateTime(), nullable=True),
    sa.Column('last_seen', sa.DateTime(), nullable=True),
    sa.Column('last_seq', sa.BigInteger(), nullable=True),
    sa.Column('reading_at', sa.DateTime(), nullable=True),
    sa.Column('credit_milli', sa.BigInteger(), nullable=True),
    sa.Column('supply_state', sa.Integer(), nullable=True),
    sa.Column('supply_reason', sa.Integer(), nullable=True),
    sa.Column('alarm_bits', sa.Integer(), nullable=True),
    sa.Column('last_purchase_milli', sa.BigInteger(), nullable=True),
    sa.Column('command_ctr', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('pan')
    )
    op.create_table('readings',
    sa.Column('pan', sa.String(length=18), nullable=False),
    sa.Column('t', sa.DateTime(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('period_s', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('energy_milli', sa.BigInteger(), nullable=True),
    sa.Column('credit_milli', sa.BigInteger(), nullable=True),
    sa.Column('values', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pan', 't', 'seq'),
    postgresql_partition_by='RANGE (t)'
    )
    if postgres:
        op.execute("CREATE SCHEMA IF NOT EXISTS %s" % PARTS)
        op.execute("CREATE TABLE %s.readings_default PARTITION OF readings DEFAULT" % PARTS)
    op.create_table('meter_events',
    sa.Column('pan', sa.String(length=18), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('t', sa.DateTime(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('pan', 'seq')
    )
    op.create_table('alarms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pan', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('open_key', sa.String(length=64), nullable=True),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('notified_at', sa.DateTime(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('cleared_at', sa.DateTime(), nullable=True),
    sa.Column('cleared_why', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('open_key')
    )
    op.create_index('ix_alarms_pan', 'alarms', ['pan'])
    op.create_index('ix_alarms_state', 'alarms', ['state'])
    op.create_table('notification_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('kinds', sa.String(length=400), nullable=False),
    sa.Column('reminder_days', sa.Integer(), nullable=False),
    sa.Column('active', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alarm_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('what', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_at', sa.DateTime(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['alarm_id'], ['alarms.id']),
    sa.ForeignKeyConstraint(['contact_id'], ['notification_contacts.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_notifications_state_next', 'notifications', ['state', 'next_at'])
    op.create_table('command_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cmd', sa.String(length=16), nullable=False),
    sa.Column('args', sa.Text(), nullable=False),
    sa.Column('pans', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_by', sa.String(length=64), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('meter_commands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pan', sa.String(length=18), nullable=False),
    sa.Column('ctr', sa.BigInteger(), nullable=False),
    sa.Column('cmd', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('result_code', sa.String(length=24), nullable=True),
    sa.Column('result_data', sa.Text(), nullable=True),
    sa.Column('result_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['command_batches.id']),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pan', 'ctr', name='uq_meter_commands_pan_ctr'),
    sa.UniqueConstraint('token_id')
    )
    op.create_index('ix_meter_commands_state', 'meter_commands', ['state'])


def downgrade():
    op.drop_table('meter_commands')
    op.drop_table('command_batches')
    op.drop_table('notifications')
    op.drop_table('notification_contacts')
    op.drop_table('alarms')
    op.drop_table('meter_events')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SCHEMA IF EXISTS %s CASCADE" % PARTS)
    op.drop_table('readings')
    op.drop_table('online_meters')
