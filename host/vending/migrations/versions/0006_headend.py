"""The head-end's tables (owned by the issue-16 work: readings, events, alarms, commands).

Placeholder in the chain so that parallel work can each fill its own revision; it changes
nothing until filled.

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


def upgrade():
    pass


def downgrade():
    pass
