"""Herd's data model: SQLAlchemy 2.0 declarative models, no Flask."""

from models.admin import Admin
from models.assignment import LearnerTraining
from models.audit_event import AuditEvent
from models.company import AccessToken, Company, hash_token
from models.company_training import CompanyTraining
from models.db import Base, make_engine, make_session_factory, utcnow
from models.event import ProvisioningEvent
from models.group import Group, GroupMember, GroupRule
from models.job import Job, JobPart
from models.learner import Learner
from models.oauth import OAuthClient, OAuthSecret
from models.scim_failure import ScimFailure
from models.settings_change import SettingsChange
from models.webhook import WebhookDelivery, WebhookEndpoint, WebhookMessage

# Register session hooks: the noted webhook events written at commit; learner_trainings.latest
# (the cycle each learner owes) kept on every flush, then learners.owed_* (counted from it).
import models.latest_cycle  # isort: skip
import models.learner_standing  # isort: skip
import models.webhook_outbox  # noqa: F401  isort: skip

__all__ = [
    "AccessToken",
    "Admin",
    "AuditEvent",
    "Base",
    "Company",
    "CompanyTraining",
    "Group",
    "GroupMember",
    "GroupRule",
    "Job",
    "JobPart",
    "Learner",
    "LearnerTraining",
    "OAuthClient",
    "OAuthSecret",
    "ProvisioningEvent",
    "ScimFailure",
    "SettingsChange",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookMessage",
    "hash_token",
    "make_engine",
    "make_session_factory",
    "utcnow",
]
