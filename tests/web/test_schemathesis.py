"""schemathesis against the live /openapi.json: no 5xx, and every response (status, content type,
headers, body) matches the schema. Examples per operation are bounded to keep the suite fast."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.web.live import LiveServer, make_keys

schemathesis.serializer.alias("application/x-ndjson", "text/plain")

TOKENS: dict[str, str] = {}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.schemas.BaseSchema]:
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    db = f"sqlite:///{folder / 'st.db'}"
    keys = make_keys(db)
    # One key with every scope, so that each operation gets past authorization.
    from store import Store

    with Store(db) as s:
        TOKENS["all"] = s.create_key("schemathesis", ["grade", "generate", "solve", "admin"])[1]
    TOKENS.update(keys)
    server = LiveServer(folder, db, {"SEQQUIZ_MAX_VARIANTS": "20"}).start()
    try:
        yield schemathesis.openapi.from_url(server.url + "/openapi.json")
    finally:
        server.stop()


def test_no_5xx_and_every_response_matches_the_schema(api: schemathesis.schemas.BaseSchema) -> None:
    # The operations are walked here rather than by schemathesis' pytest loader, which needs
    # the schema when the module is collected, before any server runs.
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 10
    headers = {"Authorization": f"Bearer {TOKENS['all']}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            # A body can match the schema and still name params a template refuses (the schema
            # cannot say which params each template takes): 422 is a right answer to it.
            case.call_and_validate(
                headers=headers, timeout=60, excluded_checks=[positive_data_acceptance]
            )

        check()
