"""Admin accounts: argon2 password hashes, sign-in with lockout, one-time passwords. No Flask."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from models import Admin, utcnow

MAX_FAILED_LOGINS = 5
LOCK_FOR = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both cases cost one argon2 verification.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

# The same words whether or not the email exists (no account enumeration).
WRONG_CREDENTIALS = (
    f"The email or password is incorrect. After {MAX_FAILED_LOGINS} failed attempts in a row "
    f"an account is locked for {LOCK_FOR.seconds // 60} minutes."
)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the admin when it succeeded, else a message to show."""

    admin: Admin | None
    message: str | None = None


def normalize_email(email):
    """Emails are compared lower-cased and trimmed."""
    return (email or "").strip().lower()


def hash_password(password):
    """An argon2id hash (PHC string) of ``password``."""
    return _hasher.hash(password)


_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


def one_time_password():
    """A random password for a new or reset account: 21 letters and digits (about 120 bits),
    none that reads like another (0/O, 1/l/I), nothing a shell or a form would mangle."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(21))


def session_fingerprint(admin):
    """A short value that changes with the password: sessions from before a change stop working."""
    return hashlib.sha256(admin.password_hash.encode()).hexdigest()[:16]


def create_admin(session, company_id, email):
    """Add an admin with a one-time password; returns ``(admin, password)``. Flushes only."""
    password = one_time_password()
    admin = Admin(
        company_id=company_id,
        email=normalize_email(email),
        password_hash=hash_password(password),
        must_change_password=True,
    )
    session.add(admin)
    session.flush()
    return admin, password


def reset_password(admin):
    """Give ``admin`` a new one-time password and unlock it; returns the password."""
    password = one_time_password()
    admin.password_hash = hash_password(password)
    admin.must_change_password = True
    unlock(admin)
    return password


def unlock(admin):
    """Clear the failed sign-in count and any lock."""
    admin.failed_logins = 0
    admin.locked_until = None


def locked_message(until, now):
    """What a locked-out admin reads."""
    minutes = max(1, int((until - now).total_seconds() + 59) // 60)
    return (
        f"Too many failed sign-ins: this account is locked for {minutes} more minute"
        f"{'s' if minutes != 1 else ''} (until {until:%H:%M} UTC). "
        "Try again later, or ask an operator to unlock it."
    )


def sign_in(session, email, password, now=None):
    """Check an email and password; count failures and lock after ``MAX_FAILED_LOGINS``.

    A locked account refuses even the right password until the lock expires.
    Commits (a failure must be counted even though the request fails).
    """
    now = now or utcnow()
    admin = session.scalar(select(Admin).where(Admin.email == normalize_email(email)))
    if admin is None:
        _verify(_DUMMY_HASH, password)
        return SignIn(None, WRONG_CREDENTIALS)
    if admin.locked_until is not None and admin.locked_until > now:
        return SignIn(None, locked_message(admin.locked_until, now))
    if admin.locked_until is not None:
        # The lock has expired: count afresh.
        session.execute(update(Admin).where(Admin.id == admin.id).values(failed_logins=0, locked_until=None))
    if not _verify(admin.password_hash, password):
        # Counted in SQL, so concurrent attempts cannot under-count.
        failed = session.scalar(
            update(Admin)
            .where(Admin.id == admin.id)
            .values(failed_logins=Admin.failed_logins + 1)
            .returning(Admin.failed_logins)
        )
        if failed >= MAX_FAILED_LOGINS:
            until = now + LOCK_FOR
            session.execute(update(Admin).where(Admin.id == admin.id).values(locked_until=until, failed_logins=0))
            session.commit()
            return SignIn(None, locked_message(until, now))
        session.commit()
        return SignIn(None, WRONG_CREDENTIALS)
    if _hasher.check_needs_rehash(admin.password_hash):
        admin.password_hash = hash_password(password)
    unlock(admin)
    admin.last_login_at = now
    session.commit()
    return SignIn(admin)


def change_password(session, admin, current, new):
    """Set a new password after checking the current one; returns an error message or None."""
    if not _verify(admin.password_hash, current):
        return "The current password is incorrect."
    if len(new) < MIN_PASSWORD_LENGTH:
        return f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters."
    if new == current:
        return "Choose a password different from the current one."
    if normalize_email(new) == admin.email:
        return "Choose a password that is not your email address."
    admin.password_hash = hash_password(new)
    admin.must_change_password = False
    session.commit()
    return None


def _verify(password_hash, password):
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False
