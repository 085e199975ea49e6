"""Shadow scores: the challenger's pd, score and grade beside each decision it shadow-scored.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shadow_scores",
        sa.Column("decision_id", sa.String(36), sa.ForeignKey("decisions.decision_id"), primary_key=True),
        sa.Column("challenger_version", sa.String(200), nullable=False),
        sa.Column("pd", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("grade", sa.String(16), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("shadow_scores")
