"""Provisioning's tables and columns (owned by the issue-15 work: e.g. the technician role).

Placeholder in the chain so that parallel work can each fill its own revision; it changes
nothing until filled.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
