"""monitoring runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("current", sa.Text(), nullable=False),
        sa.Column("alert", sa.Boolean(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_monitoring_runs_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_runs")),
    )
    with op.batch_alter_table("monitoring_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_monitoring_runs_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "chunk_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("start", sa.String(length=40), nullable=True),
        sa.Column("end", sa.String(length=40), nullable=True),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("profile", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["monitoring_runs.id"],
            name=op.f("fk_chunk_profiles_run_id_monitoring_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chunk_profiles")),
        sa.UniqueConstraint(
            "run_id", "period", "key", name=op.f("uq_chunk_profiles_run_id_period_key")
        ),
    )
    with op.batch_alter_table("chunk_profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chunk_profiles_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chunk_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chunk_profiles_run_id"))

    op.drop_table("chunk_profiles")
    with op.batch_alter_table("monitoring_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitoring_runs_product_id"))

    op.drop_table("monitoring_runs")
