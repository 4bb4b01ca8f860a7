"""The web console's tables (owned by the issue-17 work: customer logins, payment callbacks).

Placeholder in the chain so that parallel work can each fill its own revision; it changes
nothing until filled.

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


def upgrade():
    pass


def downgrade():
    pass
