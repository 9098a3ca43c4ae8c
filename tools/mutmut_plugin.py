"""pytest plugin for mutation runs: a mutant that breaks test collection is killed.

pytest ends with exit code 2 ("interrupted") when a test module cannot be
imported, which mutmut reads as an interrupted check rather than a kill. A
mutant that makes the module under test fail to import is as caught as one
that fails an assertion, so such a run ends with exit code 1 (tests failed).
Loaded only by ``tools/mutation.py`` (``-p tools.mutmut_plugin``).
"""

import pytest


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    # Collection errors are counted in testsfailed; a real Ctrl-C is not.
    if exitstatus == pytest.ExitCode.INTERRUPTED and session.testsfailed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
