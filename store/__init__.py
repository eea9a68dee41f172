"""The durable grade store behind `seqquiz serve`: API keys, stored submissions, idempotency
records, batches, webhook deliveries and regrade history, on SQLAlchemy (SQLite or PostgreSQL)."""

from store.config import database_url, default_sqlite_path
from store.db import ApiKey, Store, StoreError
from store.keys import SCOPES
from store.migrate import SchemaError

__all__ = [
    "SCOPES",
    "ApiKey",
    "SchemaError",
    "Store",
    "StoreError",
    "database_url",
    "default_sqlite_path",
]
