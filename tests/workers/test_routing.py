"""Every registered task reaches a queue some worker consumes: live events never share a queue
with bulk work, and webhook deliveries go to their own (a second ``task_routes`` once silently
replaced the live/bulk routes when two branches met)."""

import shlex

import pytest

from config.celery import BULK_QUEUE, LIVE_QUEUE, PROCESS_EVENTS, QUEUES, RERUN_COMPANY, WEBHOOK_DELIVER, WEBHOOKS_QUEUE
from harness.procfile import celery_workers
from workers.celery_app import app


def _queue(name):
    return app.amqp.router.route({}, name)["queue"].name


@pytest.mark.parametrize(
    "task, queue", [(PROCESS_EVENTS, LIVE_QUEUE), (RERUN_COMPANY, BULK_QUEUE), (WEBHOOK_DELIVER, WEBHOOKS_QUEUE)]
)
def test_tasks_go_to_their_queue(task, queue):
    assert _queue(task) == queue


@pytest.mark.parametrize("procfile", ["Procfile", "Procfile.dev"])
def test_every_herd_task_lands_on_a_queue_a_procfile_worker_consumes(procfile):
    consumed = {q for _name, queues, _n, _pool in celery_workers(procfile) for q in queues}
    app.loader.import_default_modules()  # the task modules a worker imports when it starts
    herd_tasks = [name for name in app.tasks if name.startswith("herd.")]
    assert herd_tasks
    for name in herd_tasks:
        queue = _queue(name)
        assert queue in QUEUES and queue in consumed, (name, queue, shlex.join(sorted(consumed)))
    # Live events have workers that take nothing else.
    assert any(queues == (LIVE_QUEUE,) for _n, queues, _c, _p in celery_workers(procfile))
