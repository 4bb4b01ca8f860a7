"""The vending server's sessions, kept in the database so that they survive a restart of
``prepay vend serve`` (and are shared by every server process on one database).

* ``operator_sessions``: at most one row per operator (its primary key), so one operator
  has one token; the token itself is never stored, only its SHA-256 (``token_hash``),
  with when it expires and the address it was opened from. Disabling an operator deletes
  the row in the same transaction.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('operator_sessions',
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('address', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id']),
    sa.PrimaryKeyConstraint('operator_id'),
    sa.UniqueConstraint('token_hash', name='uq_operator_sessions_token_hash')
    )


def downgrade():
    op.drop_table('operator_sessions')
