"""The store's tables. Migrations in `store/migrations/versions` create exactly these; a test
checks that the migrated schema and this metadata agree."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# A row per API key; only the SHA-256 of the secret part is kept (keys are 256-bit random
# strings, so a slow password hash would add latency to every request and no safety).
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("scopes", String(200), nullable=False),  # space-separated, sorted
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

# Every graded submission: single grades (batch_id NULL) and every line of every batch (with its
# line number; a line that could not be parsed has no template). `result` is the exact JSON text
# that was answered: `{"score", "parts"}` for a single grade, the grade-batch line for a batch.
submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_id", String(16), nullable=False),
    Column("batch_id", String(32), ForeignKey("batches.id")),
    Column("line", Integer),
    Column("submission_id", Text),
    Column("template", String(100)),
    Column("version", Integer),
    Column("seed", BigInteger),
    Column("params", Text),
    Column("response", Text),
    Column("tolerance", Text),
    Column("points", Text),
    Column("result", LargeBinary, nullable=False),
    Column("score", Float),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("graded_at", DateTime(timezone=True), nullable=False),
    Index("ix_submissions_batch_line", "batch_id", "line"),
    Index("ix_submissions_template_graded", "template", "graded_at"),
    Index("ix_submissions_key_submission", "key_id", "submission_id"),
)

# draft-ietf-httpapi-idempotency-key-header: one row per (API key, Idempotency-Key), written in
# the same transaction as what the request changed, so a stored response means a stored effect.
idempotency = Table(
    "idempotency",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("idem_key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("location", Text),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

batches = Table(
    "batches",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("key_id", String(16), nullable=False),
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    Column("runner", String(20), nullable=False),  # "local" or "celery"
    Column("callback_url", Text),
    Column("body", LargeBinary),  # the uploaded JSONL, so another server can finish the batch
    Column("lease_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),  # the webhook-id, the same on every attempt
    Column("batch_id", String(32), ForeignKey("batches.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("status", String(20), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    UniqueConstraint("batch_id", name="uq_webhook_deliveries_batch"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(40), ForeignKey("webhook_deliveries.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Float, nullable=False),
)

# A regrade applied to a stored submission: the earlier result stays in `submissions`.
regrades = Table(
    "regrades",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("submission_row", Integer, ForeignKey("submissions.id"), nullable=False),
    Column("old_score", Float),
    Column("new_score", Float),
    Column("tolerance", Text),
    Column("reason", Text, nullable=False),
    Column("result", LargeBinary, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

# Server-wide values kept in the store (the webhook signing secret).
settings = Table(
    "settings",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# ---- LTI 1.3 (docs/lti.md) -------------------------------------------------------------------
# A platform (an LMS) is registered once per (issuer, client id); its deployments are the
# installs of the tool in it, and a launch from an unregistered deployment is refused.
lti_platforms = Table(
    "lti_platforms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("issuer", Text, nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("auth_login_url", Text, nullable=False),
    Column("auth_token_url", Text, nullable=False),
    Column("jwks_url", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("issuer", "client_id", name="uq_lti_platforms_issuer_client"),
)

lti_deployments = Table(
    "lti_deployments",
    metadata,
    Column("platform_id", Integer, ForeignKey("lti_platforms.id"), primary_key=True),
    Column("deployment_id", String(255), primary_key=True),
)

# The tool's RSA keys: the newest unretired one signs; a retired one stays published in the
# JWKS until `published_until`, so platforms that cached it keep verifying in the grace period.
lti_tool_keys = Table(
    "lti_tool_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_pem", Text, nullable=False),
    Column("public_jwk", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True)),
    Column("published_until", DateTime(timezone=True)),
)

# Every nonce of an accepted id_token, so that a replayed token is refused on any server.
lti_nonces = Table(
    "lti_nonces",
    metadata,
    Column("platform_id", Integer, ForeignKey("lti_platforms.id"), primary_key=True),
    Column("nonce", String(255), primary_key=True),
    Column("used_at", DateTime(timezone=True), nullable=False),
)

# An accepted launch: who (sub, roles), where (deployment, context, resource link), what
# (custom parameters), and the AGS endpoints it gave.
lti_launches = Table(
    "lti_launches",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("platform_id", Integer, ForeignKey("lti_platforms.id"), nullable=False),
    Column("deployment_id", String(255), nullable=False),
    Column("message_type", String(40), nullable=False),
    Column("context_id", String(255)),
    Column("resource_link_id", String(255)),
    Column("user_sub", String(255), nullable=False),
    Column("user_name", Text),
    Column("roles", Text, nullable=False),  # space-separated role URIs
    Column("custom", Text, nullable=False),  # JSON object
    Column("lineitem_url", Text),
    Column("lineitems_url", Text),
    Column("ags_scopes", Text),
    Column("deep_link_return_url", Text),
    Column("deep_link_data", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_lti_launches_link_user", "platform_id", "resource_link_id", "user_sub"),
)

# One row per submitted attempt; (link, user, n) is unique, so two submissions racing for the
# last attempt cannot both be counted.
lti_attempts = Table(
    "lti_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform_id", Integer, ForeignKey("lti_platforms.id"), nullable=False),
    Column("deployment_id", String(255), nullable=False),
    Column("resource_link_id", String(255), nullable=False),
    Column("user_sub", String(255), nullable=False),
    Column("n", Integer, nullable=False),
    Column("launch_id", String(32), ForeignKey("lti_launches.id"), nullable=False),
    Column("template", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("params", Text),
    Column("points", Text),
    Column("response", Text, nullable=False),
    Column("result", Text, nullable=False),
    Column("score_given", Float, nullable=False),
    Column("score_maximum", Float, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint(
        "platform_id",
        "deployment_id",
        "resource_link_id",
        "user_sub",
        "n",
        name="uq_lti_attempts_seat_n",
    ),
)

# The line item of a resource link whose launches carried none: created once at the platform
# (the row is claimed before the POST, so concurrent passbacks create exactly one).
lti_line_items = Table(
    "lti_line_items",
    metadata,
    Column("platform_id", Integer, ForeignKey("lti_platforms.id"), primary_key=True),
    Column("deployment_id", String(255), primary_key=True),
    Column("resource_link_id", String(255), primary_key=True),
    Column("url", Text),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
)

# The score passback log: one row per score to send; the instructor sees its status.
lti_passbacks = Table(
    "lti_passbacks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform_id", Integer, ForeignKey("lti_platforms.id"), nullable=False),
    Column("deployment_id", String(255), nullable=False),
    Column("resource_link_id", String(255), nullable=False),
    Column("user_sub", String(255), nullable=False),
    Column("lineitem_url", Text),  # NULL until the link's own line item exists
    Column("lineitems_url", Text),
    Column("score_given", Float, nullable=False),
    Column("score_maximum", Float, nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False),  # pending, sent, failed, superseded
    Column("tries", Integer, nullable=False),
    Column("last_error", Text),
    Column("next_try_at", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
    Index("ix_lti_passbacks_seat", "platform_id", "resource_link_id", "user_sub"),
)
