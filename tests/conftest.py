"""Test settings: Hypothesis profiles chosen by SEQQUIZ_HYPOTHESIS_PROFILE (ci by default)."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("SEQQUIZ_HYPOTHESIS_PROFILE", "ci"))
