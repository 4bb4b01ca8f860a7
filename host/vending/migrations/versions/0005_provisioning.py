"""Provisioning (issue 15): nothing to change. The technician role is a value of
``operators.role`` (text), the commissioning records came with 0003, and the command
root of online meters is a ``settings`` row. Kept in the chain, empty, so the revisions
after it stay as numbered.

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
