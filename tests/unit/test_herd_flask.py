"""``service.HerdFlask.ensure_sync``: it remembers, per function, whether it is a coroutine,
and answers as Flask does: a plain hook or view runs as it is, an ``async def`` one goes
to Flask's wrapper (which, without Flask's ``async`` extra installed, refuses it)."""

import pytest

from service import HerdFlask


def plain():
    return "plain"


async def awaited():
    return "awaited"


class View:
    def get(self):
        return "method"


def test_a_plain_function_or_method_runs_as_it_is_every_time():
    app = HerdFlask(__name__)
    assert app.ensure_sync(plain) is plain
    assert app.ensure_sync(plain) is plain  # the remembered answer
    # A method view's bound method is new on every request; its function is asked once.
    first, second = View().get, View().get
    assert app.ensure_sync(first) is first and app.ensure_sync(second) is second


def test_a_coroutine_goes_to_flasks_own_wrapper_every_time():
    app = HerdFlask(__name__)
    for _ in range(2):  # asked, then remembered
        # Flask's wrapper; Herd does not install Flask's async extra, so it refuses.
        with pytest.raises(RuntimeError, match="async"):
            app.ensure_sync(awaited)
