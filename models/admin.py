"""Dashboard accounts: company admins who sign in with an email and a password."""

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, utcnow


class Admin(Base):
    """One admin of one company. ``email`` is stored lower-cased and is unique across companies,
    so an email alone says which company's dashboard it opens."""

    __tablename__ = "admins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # An argon2id hash (PHC string); never the password.
    password_hash: Mapped[str] = mapped_column(String(200))
    # Set for the one-time password the CLI prints: the admin chooses a new one on first sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[object | None] = mapped_column(DateTime)
    last_login_at: Mapped[object | None] = mapped_column(DateTime)
    # Every session carries the generation it was signed in under; signing out, disabling the
    # admin or revoking its sessions bumps it, so older session cookies stop working at once.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A disabled admin cannot sign in (set by ``flask admins disable``).
    disabled_at: Mapped[object | None] = mapped_column(DateTime)
    created_at: Mapped[object] = mapped_column(DateTime, default=utcnow)
