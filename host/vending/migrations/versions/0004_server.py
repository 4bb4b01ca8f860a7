"""The vending server's own tables (owned by the issue-14 work: e.g. sessions that survive a restart).

Placeholder in the chain so that parallel work can each fill its own revision; it changes
nothing until filled.

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
    pass


def downgrade():
    pass
