"""Webhooks: a company's endpoints, the events written for them (the outbox) and each delivery.

An event is one ``webhook_messages`` row written in the transaction of the change it
reports, with one ``webhook_deliveries`` row per endpoint subscribed to its type. The
delivery worker (workers/webhooks.py) sends an endpoint's deliveries in id order; the
message id is the ``webhook-id`` receivers deduplicate on. Signing secrets are kept
encrypted (models/webhook_secret.py): the worker needs them back to sign.
"""

from urllib.parse import urlsplit

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, Document, utcnow
from models.event import EventId

LEARNER_EVENTS = ("learner.created", "learner.updated", "learner.deactivated", "learner.reactivated")
ASSIGNMENT_EVENTS = (
    "assignment.created",
    "assignment.completed",
    "assignment.overdue",
    "assignment.removed",
    "assignment.due_soon",
)
EVENT_TYPES = LEARNER_EVENTS + ASSIGNMENT_EVENTS
# Sent only by the test-send button, to one endpoint, whatever it subscribes to.
TEST_EVENT = "webhook.test"

PENDING, DELIVERED = "pending", "delivered"
# The short excerpt of a response body kept for the delivery log; the rest is never read.
EXCERPT_CHARS = 200
MAX_URL = 2000


def url_problem(url, https_only):
    """Why ``url`` cannot be a receiver's (None when it can): http(s) with a host, no credentials,
    and https only when ``https_only`` (production)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL or any(ord(c) < 33 for c in url):
        return f"Give a URL of at most {MAX_URL} characters, without spaces."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a bad port raises here)
    except ValueError:
        return "This is not a valid URL."
    if https_only and parts.scheme != "https":
        return "Only https:// URLs are allowed."
    if parts.scheme not in ("https", "http"):
        return "Only http:// and https:// URLs are allowed."
    if not parts.hostname or parts.username or parts.password:
        return "The URL needs a host name and no user name or password."
    return None


class WebhookEndpoint(Base):
    """A company's receiver: its URL, its (encrypted) signing secret, the event types it takes."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    url: Mapped[str] = mapped_column(String(MAX_URL))
    secret_sealed: Mapped[str] = mapped_column(Text)
    # Event types it receives; every type when empty.
    event_types: Mapped[list] = mapped_column(Document, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Why it was disabled (by an admin, or after failing for three days): shown to the admin.
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    # Set by the first failure of a run of failures, cleared by any success.
    failing_since: Mapped[object | None] = mapped_column(DateTime)
    # One worker at a time sends an endpoint's deliveries (order per learner): its lease.
    lease_until: Mapped[object | None] = mapped_column(DateTime)
    created_at: Mapped[object] = mapped_column(DateTime, default=utcnow)

    def receives(self, event_type):
        """True when this endpoint is on and subscribed to ``event_type``."""
        return self.enabled and (not self.event_types or event_type in self.event_types)


class WebhookMessage(Base):
    """One event as sent: its type and payload; ``msg_<id>`` is its webhook-id."""

    __tablename__ = "webhook_messages"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(Document)
    # Set for events that must be written once only (a due_soon per assignment and due date).
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[object] = mapped_column(DateTime, default=utcnow)

    @property
    def webhook_id(self):
        """The Standard Webhooks ``webhook-id``: the same on every attempt and replay."""
        return webhook_id(self.id)


def webhook_id(message_id):
    """The ``webhook-id`` of message ``message_id``."""
    return f"msg_{message_id}"


class WebhookDelivery(Base):
    """One message to one endpoint: pending until a 2xx, with its last attempt for the log."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    message_id: Mapped[int] = mapped_column(ForeignKey("webhook_messages.id"))
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[object] = mapped_column(DateTime, default=utcnow)
    last_attempt_at: Mapped[object | None] = mapped_column(DateTime)
    response_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    # A short reason ("timeout", "refused: private address") or the body's first characters.
    last_error: Mapped[str | None] = mapped_column(String(300))
    response_excerpt: Mapped[str | None] = mapped_column(String(EXCERPT_CHARS))
    delivered_at: Mapped[object | None] = mapped_column(DateTime)
    created_at: Mapped[object] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        # The worker's queue: an endpoint's pending deliveries, oldest first.
        Index(
            "ix_webhook_deliveries_pending",
            "endpoint_id",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # The delivery log and replay of a time range.
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )
