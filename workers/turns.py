"""Bulk work in turns: a task does one small part, then queues its next turn at the back.

The bulk queue is first in, first out. A re-run, a company's recertification or the
retention prune does one part (a few seconds of one worker) and then sends the message
for its next part behind whatever is already queued: two companies' jobs alternate part
by part, the nightly recertification goes through the companies in turns, and no bulk
task holds a worker for long. The live queue has workers of its own (see the Procfile).

When the next turn cannot be queued (the broker is away), the caller carries on in the
same task instead: the work still finishes, only without yielding.
"""

import logging

log = logging.getLogger(__name__)


def next_turn(task, *args, **kwargs):
    """Queue ``task(*args, **kwargs)`` at the back of its queue; False when the broker refused it."""
    try:
        task.apply_async(args, kwargs)
    except Exception as exc:  # the broker is away: the caller goes on in this task
        log.warning("%s: next turn not queued (%s); carrying on in this task", task.name, type(exc).__name__)
        return False
    return True
