"""Live provisioning never waits behind another company's re-run, with the workers of ``make run``.

A company of tens of thousands of learners is re-run from start to end while another
company's new hires are POSTed over SCIM. The workers are started from Procfile.dev's
own lines (``harness.procfile``), so this holds for the set-up a newcomer runs. No
clock is asserted: the order of work is. Each new hire's event is processed before the
re-run finishes another part (at most the one a bulk worker had in hand), and the
re-run is still going when the last of them is done.
"""

import types

import pytest
from sqlalchemy import select

from bench.common.seed import seed_learners
from config.celery import RERUN_COMPANY, make_celery
from harness.procfile import start_workers
from harness.stack import learner_body, wait_for
from models import Job, JobPart, ProvisioningEvent
from tests.conftest import make_tenant
from tests.e2e.test_operations import sample

pytestmark = pytest.mark.e2e

BIG = 20_000
NEW_HIRES = 3
# A deadline for each wait, not a figure asserted: the order of work below is.
PATIENCE = 600


def rerun_of(sessions, redis_url, company_id):
    """Queue a re-run of the company as the dashboard does (a job row, then the task); its id."""
    with sessions() as s:
        job = Job(company_id=company_id, kind="rerun_smart_assign", status="queued")
        s.add(job)
        s.commit()
        job_id = job.id
    celery = make_celery(types.SimpleNamespace(broker_url=redis_url, relay_after_seconds=30))
    celery.send_task(RERUN_COMPANY, args=[company_id, job_id])
    return job_id


def finished_parts(sessions, job_id):
    """Finish times of the job's finished parts."""
    with sessions() as s:
        return s.scalars(
            select(JobPart.finished_at).where(JobPart.job_id == job_id, JobPart.finished_at.is_not(None))
        ).all()


def test_new_hires_of_one_company_are_served_while_another_company_reruns(e2e_redis_url, herd_stack, sessions):
    acme = make_tenant(sessions, None, "Acme", 7)
    big = make_tenant(sessions, None, "Big", 8)
    seed_learners(sessions, big.id, BIG, "big", with_events=False)
    herd = herd_stack(e2e_redis_url)
    herd.start_web()
    start_workers(herd, "Procfile.dev")
    job_id = rerun_of(sessions, e2e_redis_url, big.id)
    # The re-run is under way: a part is done, more are open.
    wait_for(lambda: finished_parts(sessions, job_id), PATIENCE, interval=0.2, message="a part of the re-run done")

    waits = []
    for n in range(NEW_HIRES):
        resp = herd.post_user(acme, learner_body(n))
        assert resp.status_code == 201, resp.text
        learner_id = resp.json()["id"]

        def processed(learner_id=learner_id):
            with sessions() as s:
                return s.execute(
                    select(ProvisioningEvent.created_at, ProvisioningEvent.processed_at).where(
                        ProvisioningEvent.resource_id == learner_id, ProvisioningEvent.processed_at.is_not(None)
                    )
                ).first()

        waits.append(wait_for(processed, PATIENCE, interval=0.1, message=f"new hire {n} processed", procs=herd.procs))

    parts = finished_parts(sessions, job_id)
    for committed, done in waits:
        overtaking = [at for at in parts if committed < at < done]
        assert len(overtaking) <= 1, f"{len(overtaking)} parts of the re-run went before a new hire's event"
    with sessions() as s:
        job = s.get(Job, job_id)
    last_hire = max(done for _, done in waits)
    assert job.finished_at is None or job.finished_at > last_hire, "the re-run was over before the new hires"
    # What the operator sees: the live events' wait, and the queues.
    text = herd.metrics()
    assert sample(text, "herd_live_event_latency_seconds_count") >= NEW_HIRES
    assert 'herd_queue_depth{queue="bulk"}' in text and 'herd_queue_oldest_message_age_seconds{queue="live"}' in text
