"""Audit tables: decisions and outcomes.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(36), primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("policy_version", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("pd", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("grade", sa.String(16), nullable=True),
        sa.Column("applicant_id", sa.String(64), nullable=True),
        sa.Column("api_key_name", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True, unique=True),
        sa.Column("request_sha256", sa.String(64), nullable=True),
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
    )
    op.create_index("ix_decisions_created_at", "decisions", ["created_at"])
    op.create_table(
        "outcomes",
        sa.Column("decision_id", sa.String(36), sa.ForeignKey("decisions.decision_id"), primary_key=True),
        sa.Column("defaulted", sa.SmallInteger(), nullable=False),
        sa.Column("outcome_date", sa.Date(), nullable=True),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.Column("reported_by", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("outcomes")
    op.drop_index("ix_decisions_created_at", table_name="decisions")
    op.drop_table("decisions")
