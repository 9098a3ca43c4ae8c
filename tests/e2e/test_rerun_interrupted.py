"""A re-run's part cut short on the bulk worker of ``make run``: nothing lost, nothing done twice.

The bulk worker's pool process is killed in the middle of a part (as the kernel's OOM
killer would). The worker hands the turn back to the queue (acks_late,
reject_on_worker_lost), the next turn resumes the part after its last committed batch,
and the job ends with every learner counted once and no assignment twice.
"""

import os
import signal

import pytest
from sqlalchemy import func, select

from bench.common.seed import seed_learners
from harness.procfile import start_workers
from harness.stack import child_pids, wait_for
from models import Job, LearnerTraining
from tests.conftest import make_tenant
from tests.e2e.test_live_first import PATIENCE, rerun_of

pytestmark = pytest.mark.e2e

LEARNERS = 6000


def test_a_rerun_part_interrupted_is_resumed_and_counts_each_learner_once(e2e_redis_url, herd_stack, sessions):
    big = make_tenant(sessions, None, "Big", 8)
    seed_learners(sessions, big.id, LEARNERS, "big", with_events=False)
    herd = herd_stack(e2e_redis_url)
    workers = start_workers(herd, "Procfile.dev")
    job_id = rerun_of(sessions, e2e_redis_url, big.id)

    def job():
        with sessions() as s:
            return s.get(Job, job_id)

    wait_for(lambda: 0 < job().done < LEARNERS, PATIENCE, interval=0.05, message="the re-run under way")
    (pool,) = child_pids(workers["bulk"].pid)
    os.kill(pool, signal.SIGKILL)
    wait_for(lambda: job().status == "done", PATIENCE, interval=0.5, message="the re-run done", procs=herd.procs)

    row = job()
    with sessions() as s:
        added = s.scalar(select(func.count()).select_from(LearnerTraining).where(LearnerTraining.company_id == big.id))
        twice = s.execute(
            select(LearnerTraining.learner_id, LearnerTraining.family)
            .group_by(LearnerTraining.learner_id, LearnerTraining.family)
            .having(func.count() > 1)
        ).all()
    assert (row.done, row.total, row.error) == (LEARNERS, LEARNERS, None)
    assert row.added == added > 0
    assert twice == []
    assert "WorkerLostError" in workers["bulk"].log_text()
