"""The outbox relay: publishes committed provisioning events to the workers, outside any request.

    python -m workers.relay        (the Procfile's ``relay`` process)

A SCIM request commits its learner row and its event row and answers; it never
talks to the broker. This process publishes every event whose ``published_at`` is
empty, then stamps it. It wakes on PostgreSQL's ``NOTIFY herd_outbox`` (a trigger
sends it with each insert, delivered at commit) and also polls every
``PG_POLL_SECONDS`` in case a notification is missed (a reconnect); on SQLite it polls
every ``SQLITE_POLL_SECONDS``. Either way Smart Assign starts well within a second.

Nothing is lost: an event is stamped only after its message is with the broker, so a
broker outage or a crash leaves it unstamped and it is published later. Nothing is
done twice: a crash between publish and stamp can send a message twice, and the task
skips an event already processed (workers/tasks.py). On PostgreSQL, several relays
may run: each claims its batch with ``FOR UPDATE SKIP LOCKED``. The beat's
``relay_pending_events`` stays as the net for messages lost after publishing (a worker
killed with its message, Redis restarted without persistence).
"""

from __future__ import annotations

import contextlib
import logging
import select as select_module
import signal
import threading

from sqlalchemy import select, update

from config.celery import EVENTS_PER_MESSAGE, PROCESS_EVENTS
from models import ProvisioningEvent, utcnow

log = logging.getLogger("workers.relay")

CHANNEL = "herd_outbox"
PG_POLL_SECONDS = 1.0
SQLITE_POLL_SECONDS = 0.1
BATCH = 500
# After a failed publish, wait this long before trying the broker again.
BROKER_RETRY_SECONDS = 1.0


def relay_once(session, publish, limit=BATCH, per_message=1):
    """Publish up to ``limit`` unpublished events, oldest first, and stamp them.

    With ``per_message=1``, ``publish(event_id)`` per event; with more, the events
    pending are cut into lists of up to that many ids and ``publish(ids)`` is called
    per list (one process_events message: a worker handles it in one transaction).
    Nothing waits for a list to fill: a quiet moment sends a list of one.
    ``publish`` raises if the broker is unreachable: the events published before the
    failure are stamped, the rest stay for the next pass, and the error is raised
    again. Returns how many were published.
    """
    query = (
        select(ProvisioningEvent.id)
        .where(ProvisioningEvent.published_at.is_(None))
        .order_by(ProvisioningEvent.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = session.scalars(query).all()
    done = []
    try:
        if per_message == 1:
            for event_id in ids:
                publish(event_id)
                done.append(event_id)
        else:
            for start in range(0, len(ids), per_message):
                chunk = list(ids[start : start + per_message])
                publish(chunk)
                done.extend(chunk)
    finally:
        if done:
            session.execute(
                update(ProvisioningEvent).where(ProvisioningEvent.id.in_(done)).values(published_at=utcnow())
            )
        session.commit()
    return len(done)


class Relay:
    """The relay loop; ``run()`` until ``stop()``."""

    def __init__(self, engine, sessions, publish, per_message=1):
        self.engine = engine
        self.sessions = sessions
        self.publish = publish
        self.per_message = per_message
        self._stop = threading.Event()
        self._listener = None
        self.broker_down = False

    def stop(self, *_args):
        self._stop.set()

    def drain(self):
        """Publish everything unpublished; False if the broker refused (try again later)."""
        while not self._stop.is_set():
            with self.sessions() as session:
                try:
                    count = relay_once(session, self.publish, per_message=self.per_message)
                except Exception as exc:  # the broker (or the database) is away: wait, then retry
                    session.rollback()
                    if not self.broker_down:
                        log.warning("broker unavailable, events wait in the outbox (%s)", type(exc).__name__)
                    self.broker_down = True
                    return False
            if count:
                if self.broker_down:
                    log.info("broker back")
                self.broker_down = False
                log.info("published %d events", count)
            if count < BATCH:
                return True
        return True

    def _listen(self):
        """A dedicated autocommit connection LISTENing on the channel (PostgreSQL)."""
        if self._listener is None:
            raw = self.engine.raw_connection()
            try:
                raw.driver_connection.autocommit = True
                with raw.driver_connection.cursor() as cur:
                    cur.execute(f"LISTEN {CHANNEL}")
            except Exception:
                # Broken (the database went away): dropped here, not left to the pool, whose
                # rollback on return would fail again and log a traceback.
                with contextlib.suppress(Exception):
                    raw.invalidate()
                raise
            self._listener = raw
        return self._listener.driver_connection

    def _wait(self, timeout):
        """Until a notification, ``timeout`` seconds, or stop()."""
        if self.engine.dialect.name != "postgresql":
            self._stop.wait(timeout)
            return
        try:
            conn = self._listen()
            if not conn.notifies:
                select_module.select([conn], [], [], timeout)
            conn.poll()
            conn.notifies.clear()
        except Exception as exc:  # the listening connection broke: poll until it is back
            log.warning("LISTEN connection lost (%s); polling", type(exc).__name__)
            self._close_listener()
            self._stop.wait(timeout)

    def _close_listener(self):
        if self._listener is not None:
            with contextlib.suppress(Exception):  # already gone
                self._listener.invalidate()
            self._listener = None

    def run(self):
        """Drain, then wait for a notification (or the poll interval), until stopped."""
        poll = PG_POLL_SECONDS if self.engine.dialect.name == "postgresql" else SQLITE_POLL_SECONDS
        log.info("outbox relay started (%s)", "LISTEN/NOTIFY" if poll == PG_POLL_SECONDS else "polling")
        while not self._stop.is_set():
            if self.engine.dialect.name == "postgresql":
                self._listen_safely()
            ok = self.drain()
            self._wait(poll if ok else BROKER_RETRY_SECONDS)
        self._close_listener()
        log.info("outbox relay stopped")

    def _listen_safely(self):
        # LISTEN before draining, so an event committed in between still wakes us.
        try:
            self._listen()
        except Exception as exc:  # database away: the drain below fails too and we retry
            log.warning("cannot LISTEN (%s)", type(exc).__name__)
            self._close_listener()


def celery_batch_publisher(celery):
    """``publish(event_ids)`` sending one process_events task through ``celery``."""

    def publish(event_ids):
        celery.send_task(PROCESS_EVENTS, args=[list(event_ids)])

    return publish


def main():
    """Entry point of ``python -m workers.relay``."""
    from workers.celery_app import app, sessions

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    factory = sessions()
    relay = Relay(factory.kw["bind"], factory, celery_batch_publisher(app), per_message=EVENTS_PER_MESSAGE)
    signal.signal(signal.SIGTERM, relay.stop)
    signal.signal(signal.SIGINT, relay.stop)
    relay.run()


if __name__ == "__main__":
    main()
