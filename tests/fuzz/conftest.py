"""Hypothesis settings for the fuzz suite: bounded examples, no deadline, no database left in the tree.

``HYPOTHESIS_PROFILE=deep`` runs ten times more examples (for a hunt, not for CI).
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "herd",
    max_examples=40,
    deadline=None,
    database=None,  # the work tree stays clean; failures print their reproducing example
    derandomize=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("deep", parent=settings.get_profile("herd"), max_examples=400)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "herd"))
