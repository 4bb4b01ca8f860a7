"""The web console's tables: customers' self-service logins (a password an operator sets
for the account; the failed logins are throttled in ``login_failures`` as operators' are),
the browser sessions (the cookie's hash only, so a restart logs nobody out), and a partial
index of the audit trail's service changes (the dashboard's list).

Payment-provider callbacks need no table of their own: each one is a line of the
``payments`` table under the provider's name as its source, as a statement line is.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


SERVICE_CHANGE_ACTIONS = ("meter_add", "meter_move", "meter_status", "meter_tariff", "key_change",
                          "tariff_revise", "debt_set")


def upgrade():
    op.create_table('customer_logins',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('set_at', sa.DateTime(), nullable=False),
    sa.Column('set_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
    sa.PrimaryKeyConstraint('customer_id')
    )
    op.create_table('browser_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('token_hash'),
    sa.UniqueConstraint('kind', 'subject_id', name='uq_browser_sessions_subject')
    )
    where = sa.text("action IN (%s)" % ", ".join("'%s'" % a for a in SERVICE_CHANGE_ACTIONS))
    op.create_index('ix_audit_log_service_changes', 'audit_log', ['at'], sqlite_where=where,
                    postgresql_where=where)


def downgrade():
    op.drop_index('ix_audit_log_service_changes', table_name='audit_log')
    op.drop_table('browser_sessions')
    op.drop_table('customer_logins')
