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
