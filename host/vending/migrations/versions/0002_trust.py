"""Trust: keyed audit entries with the state they vouch for, operator approval, login throttle.

* ``audit_log.mac``: HMAC-SHA-256 of the entry's hash under the audit key, which the key
  custody holds (never the database); ``audit_log.state``: the digests of the rows the
  entry's change left behind (JSON ``{"table:id": sha256}``).
* ``operators.created_by``, ``approved_by``, ``approved_at``: a supervisor or admin
  account works only once approved by a second admin, or after the waiting period.
* ``login_failures``: failed logins per operator (and per client address), for throttling.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_log') as batch:
        batch.add_column(sa.Column('mac', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('state', sa.Text(), nullable=True))
    with op.batch_alter_table('operators') as batch:
        batch.add_column(sa.Column('created_by', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('approved_by', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('approved_at', sa.DateTime(), nullable=True))
    # Accounts that existed before approvals were approved when they were made.
    op.execute("UPDATE operators SET approved_at = created_at, approved_by = '-'")
    op.create_table('login_failures',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_at', sa.DateTime(), nullable=False),
    sa.Column('blocked_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade():
    op.drop_table('login_failures')
    with op.batch_alter_table('operators') as batch:
        batch.drop_column('approved_at')
        batch.drop_column('approved_by')
        batch.drop_column('created_by')
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_column('state')
        batch.drop_column('mac')
