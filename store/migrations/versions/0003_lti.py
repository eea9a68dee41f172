"""LTI 1.3: platforms, deployments, tool keys, nonces, launches, attempts, line items, passbacks

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 17:50:00
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
        "lti_platforms",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("auth_login_url", sa.Text(), nullable=False),
        sa.Column("auth_token_url", sa.Text(), nullable=False),
        sa.Column("jwks_url", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "client_id", name="uq_lti_platforms_issuer_client"),
    )
    op.create_table(
        "lti_deployments",
        sa.Column("platform_id", sa.Integer(), sa.ForeignKey("lti_platforms.id"), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("platform_id", "deployment_id"),
    )
    op.create_table(
        "lti_tool_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid"),
    )
    op.create_table(
        "lti_nonces",
        sa.Column("platform_id", sa.Integer(), sa.ForeignKey("lti_platforms.id"), nullable=False),
        sa.Column("nonce", sa.String(length=255), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform_id", "nonce"),
    )
    op.create_table(
        "lti_launches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("platform_id", sa.Integer(), sa.ForeignKey("lti_platforms.id"), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.Column("message_type", sa.String(length=40), nullable=False),
        sa.Column("context_id", sa.String(length=255), nullable=True),
        sa.Column("resource_link_id", sa.String(length=255), nullable=True),
        sa.Column("user_sub", sa.String(length=255), nullable=False),
        sa.Column("user_name", sa.Text(), nullable=True),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("custom", sa.Text(), nullable=False),
        sa.Column("lineitem_url", sa.Text(), nullable=True),
        sa.Column("lineitems_url", sa.Text(), nullable=True),
        sa.Column("ags_scopes", sa.Text(), nullable=True),
        sa.Column("deep_link_return_url", sa.Text(), nullable=True),
        sa.Column("deep_link_data", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_lti_launches_link_user",
        "lti_launches",
        ["platform_id", "resource_link_id", "user_sub"],
        unique=False,
    )
    op.create_table(
        "lti_attempts",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("platform_id", sa.Integer(), sa.ForeignKey("lti_platforms.id"), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.Column("resource_link_id", sa.String(length=255), nullable=False),
        sa.Column("user_sub", sa.String(length=255), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column(
            "launch_id", sa.String(length=32), sa.ForeignKey("lti_launches.id"), nullable=False
        ),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("params", sa.Text(), nullable=True),
        sa.Column("points", sa.Text(), nullable=True),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("score_given", sa.Float(), nullable=False),
        sa.Column("score_maximum", sa.Float(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "platform_id",
            "deployment_id",
            "resource_link_id",
            "user_sub",
            "n",
            name="uq_lti_attempts_seat_n",
        ),
    )
    op.create_table(
        "lti_line_items",
        sa.Column("platform_id", sa.Integer(), sa.ForeignKey("lti_platforms.id"), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.Column("resource_link_id", sa.String(length=255), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform_id", "deployment_id", "resource_link_id"),
    )
    op.create_table(
        "lti_passbacks",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("platform_id", sa.Integer(), sa.ForeignKey("lti_platforms.id"), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.Column("resource_link_id", sa.String(length=255), nullable=False),
        sa.Column("user_sub", sa.String(length=255), nullable=False),
        sa.Column("lineitem_url", sa.Text(), nullable=True),
        sa.Column("lineitems_url", sa.Text(), nullable=True),
        sa.Column("score_given", sa.Float(), nullable=False),
        sa.Column("score_maximum", sa.Float(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_lti_passbacks_seat",
        "lti_passbacks",
        ["platform_id", "resource_link_id", "user_sub"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("lti_passbacks")
    op.drop_table("lti_line_items")
    op.drop_table("lti_attempts")
    op.drop_table("lti_launches")
    op.drop_table("lti_nonces")
    op.drop_table("lti_tool_keys")
    op.drop_table("lti_deployments")
    op.drop_table("lti_platforms")
