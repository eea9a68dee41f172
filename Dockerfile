# The seqquiz worker: `docker compose up --scale worker=N` (see docker-compose.yml, docs/queue.md).
# An exact Python: constraints.txt was resolved for it (environment markers differ between
# patch releases) and the suite ran on it.
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# README.md* : the project metadata names it; the glob keeps the build working without it.
COPY constraints.txt pyproject.toml README.md* ./
# The packages, lowest layer first (tests/test_layers.py holds the order).
COPY grader ./grader
COPY generators ./generators
COPY jobs ./jobs
COPY store ./store
COPY worker ./worker
COPY web ./web
COPY seqquiz ./seqquiz
# Every runtime dependency at the version the test suite ran with (constraints.txt; hiredis, the
# C reply parser, comes with redis[hiredis]).
RUN pip install --constraint constraints.txt . \
    && useradd --create-home --uid 10001 seqquiz

# A worker never runs as root (Celery warns about it; least privilege all the same).
USER seqquiz

ENV SEQQUIZ_BROKER_URL=redis://redis:6379/0 \
    SEQQUIZ_RESULT_BACKEND=redis://redis:6379/0

# SIGTERM is Celery's warm shutdown: running chunks finish, reserved messages go back to Redis.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=15s --start-period=60s --retries=3 \
    CMD celery -A worker.app inspect ping --destination "celery@$(hostname)" --timeout 10 >/dev/null || exit 1

CMD ["seqquiz", "worker"]
