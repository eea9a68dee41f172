"""Settings from `SEQQUIZ_*`: defaults, parsing errors that name the variable, the limits check
at start-up, and a worker that refuses to start when a task could outlive the visibility
timeout."""

from __future__ import annotations

import subprocess
import sys

import pytest

from worker.config import ROUTES, ConfigError, Settings
from worker.store import BatchIdError, check_batch_id, line_field, submission_field
from worker.testing import REPO, worker_env


def test_defaults_are_consistent_and_json_only():
    s = Settings.from_env({})
    assert s.broker_url == s.result_backend == s.store_url == "redis://127.0.0.1:6379/0"
    conf = s.celery_conf()
    for key in ("accept_content", "result_accept_content"):
        assert conf[key] == ["json"]
    assert conf["task_serializer"] == conf["result_serializer"] == "json"
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["broker_transport_options"]["visibility_timeout"] == s.visibility_timeout
    assert {r["queue"] for r in conf["task_routes"].values()} == {"interactive", "batch"}
    assert set(ROUTES) == {
        "seqquiz.solve",
        "seqquiz.grade",
        "seqquiz.grade_batch",
        "seqquiz.generate_set",
    }


def test_store_follows_the_broker_unless_told():
    s = Settings.from_env({"SEQQUIZ_BROKER_URL": "redis://b:1/2"})
    assert s.store_url == "redis://b:1/2" and s.result_backend == "redis://127.0.0.1:6379/0"
    s = Settings.from_env({"SEQQUIZ_BROKER_URL": "redis://b/0", "SEQQUIZ_STORE_URL": "redis://s/3"})
    assert s.store_url == "redis://s/3"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SEQQUIZ_RESULT_TTL": "a week"}, "SEQQUIZ_RESULT_TTL"),
        ({"SEQQUIZ_MAX_REDELIVERIES": "-1"}, "SEQQUIZ_MAX_REDELIVERIES"),
        ({"SEQQUIZ_VISIBILITY_TIMEOUT": "100"}, "SEQQUIZ_VISIBILITY_TIMEOUT"),  # < 120 s batch
        ({"SEQQUIZ_BATCH_SOFT_TIME_LIMIT": "130"}, "SEQQUIZ_BATCH_SOFT_TIME_LIMIT"),
        ({"SEQQUIZ_INTERACTIVE_PREFETCH": "20"}, "SEQQUIZ_VISIBILITY_TIMEOUT"),  # 30 x 20 > 300
    ],
)
def test_bad_settings_name_the_variable(env, named):
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_limits_are_checked_per_worker_queues_and_prefetch():
    s = Settings.from_env({})
    s.check_worker(["interactive"], 4)
    s.check_worker(["interactive", "batch"], 1)
    with pytest.raises(ConfigError, match="batch hard time limit"):
        s.check_worker(["interactive", "batch"], 4)  # 120 x 4 >= 300
    with pytest.raises(ConfigError, match="unknown queue"):
        s.check_worker(["other"], 1)
    s.check_worker(["celery", "interactive"], 4)  # the default queue is only forwarded from
    assert s.prefetch_for(["interactive"]) == 4 and s.prefetch_for(["batch"]) == 1
    assert s.prefetch_for(["celery", "interactive"]) == 4


def test_fields_and_batch_ids():
    assert submission_field("abc") == "s:abc" and submission_field(12) == "i:12"
    assert submission_field(-(2**63)) == f"i:{-(2**63)}" and submission_field("x" * 256)
    # refused ids key nothing: `true` must not share the field of 1 (issue 10)
    for refused in (True, False, 1.0, 1.5, "", "x" * 257, 2**63, [1], {"a": 1}, None):
        assert submission_field(refused) is None, refused
    assert line_field(7) == "l:7"
    assert check_batch_id("2024-w07.quiz_1") == "2024-w07.quiz_1"
    for bad in ("", "-x", "a b", "a/b", "x" * 129, 5):
        with pytest.raises(BatchIdError):
            check_batch_id(bad)


def _worker(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=worker_env("redis://127.0.0.1:1/0", **env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_seqquiz_worker_refuses_limits_beyond_the_visibility_timeout():
    proc = _worker("-m", "seqquiz", "worker", SEQQUIZ_VISIBILITY_TIMEOUT="60")
    assert proc.returncode == 2
    assert "SEQQUIZ_VISIBILITY_TIMEOUT" in proc.stderr and "hard time limit" in proc.stderr


def test_plain_celery_worker_refuses_a_prefetch_that_breaks_the_limits():
    """Started by `celery` itself, with a multiplier that makes a batch chunk able to wait in a
    worker's buffer past the visibility timeout, the worker stops before it consumes anything."""
    proc = _worker(
        *("-m", "celery", "-A", "worker.app", "worker", "--prefetch-multiplier", "3"),
        *("--queues", "batch", "--pool", "solo"),
    )
    assert proc.returncode != 0
    assert "refuses to start" in proc.stderr + proc.stdout


def test_every_setting_is_read_from_its_environment_variable():
    """`from_env` walks the dataclass: a field added to `Settings` is read from SEQQUIZ_<NAME>
    without a second list to keep in step."""
    from dataclasses import fields

    from worker.config import PREFIX

    given: dict[str, tuple[str, object]] = {}
    for f in fields(Settings):
        if f.type == "bool":
            given[f.name] = ("1", True)
        elif f.type == "int":
            given[f.name] = (str(f.default + 1), f.default + 1)
        elif f.type == "float":
            given[f.name] = ("0.5", 0.5)
        elif f.metadata.get("url"):
            given[f.name] = (f"redis://h-{f.name}:6379/3", f"redis://h-{f.name}:6379/3")
        else:
            given[f.name] = (f"v-{f.name}", f"v-{f.name}")
    # Soft limits stay below hard ones and everything below the visibility timeout.
    for name, value in (
        ("interactive_soft_time_limit", 1.0),
        ("interactive_time_limit", 2.0),
        ("batch_soft_time_limit", 3.0),
        ("batch_time_limit", 4.0),
        ("visibility_timeout", 50.0),
    ):
        given[name] = (str(value), value)
    env = {PREFIX + name.upper(): text for name, (text, _) in given.items()}
    got = Settings.from_env(env)
    assert {name: getattr(got, name) for name in given} == {n: v for n, (_, v) in given.items()}


def test_a_field_with_a_default_from_another_follows_it_when_unset():
    got = Settings.from_env({"SEQQUIZ_BROKER_URL": "redis://broker:6379/1"})
    assert got.store_url == "redis://broker:6379/1"
    assert got.test_hold_dir == "."  # the hooks' folder: the working directory when unset
