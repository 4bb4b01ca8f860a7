"""Commissioning records: each time ``prepay provision meter`` took a meter into service
(serial, firmware and configuration hashes, the self-test's results, the technician).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('meter_commissionings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('firmware_hash', sa.String(length=64), nullable=False),
    sa.Column('config_hash', sa.String(length=64), nullable=False),
    sa.Column('self_test', sa.Text(), nullable=False),
    sa.Column('technician', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_meter_commissionings_meter_id', 'meter_commissionings', ['meter_id'])


def downgrade():
    op.drop_index('ix_meter_commissionings_meter_id', table_name='meter_commissionings')
    op.drop_table('meter_commissionings')
