"""Herd's data model: SQLAlchemy 2.0 declarative models, no Flask."""

from models.company import AccessToken, Company, hash_token
from models.db import Base, make_engine, make_session_factory, utcnow
from models.event import ProvisioningEvent
from models.learner import Learner
from models.training import AuditEvent, LearnerTraining

__all__ = [
    "AccessToken",
    "AuditEvent",
    "Base",
    "Company",
    "Learner",
    "LearnerTraining",
    "ProvisioningEvent",
    "hash_token",
    "make_engine",
    "make_session_factory",
    "utcnow",
]
