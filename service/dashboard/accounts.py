"""Admin accounts: argon2 password hashes, sign-in with lockout, one-time passwords. No Flask."""

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from models import Admin, utcnow

MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both cases cost one argon2 verification.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

# The same words whether or not the email exists (no account enumeration). Repeated failures
# are throttled per source address and account by ``service.ratelimit.limiter`` (no account-wide lock
# a stranger could keep closed).
WRONG_CREDENTIALS = (
    "The email or password is incorrect. After 5 failed attempts from the same address, "
    "signing in to this account from there pauses for 15 minutes."
)
DISABLED = "This account is disabled. Ask the person who runs Herd for your company to enable it."


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
    """Clear the failed sign-in count and any lock left by earlier versions (throttling lives in
    ``service.ratelimit.limiter`` now)."""
    admin.failed_logins = 0
    admin.locked_until = None


def sign_in(session, email, password, now=None):
    """Check an email and password; the admin on success, else the message to show.

    Failed attempts are not counted here: ``service.ratelimit.limiter`` throttles them per source
    address and account. A disabled account is refused even with the right password.
    Commits.
    """
    now = now or utcnow()
    admin = session.scalar(select(Admin).where(Admin.email == normalize_email(email)))
    if admin is None:
        _verify(_DUMMY_HASH, password)
        return SignIn(None, WRONG_CREDENTIALS)
    if not _verify(admin.password_hash, password):
        return SignIn(None, WRONG_CREDENTIALS)
    if admin.disabled_at is not None:
        return SignIn(None, DISABLED)
    if _hasher.check_needs_rehash(admin.password_hash):
        admin.password_hash = hash_password(password)
    unlock(admin)
    admin.last_login_at = now
    session.commit()
    return SignIn(admin)


def end_sessions(session, admin_id):
    """End every dashboard session of an admin (sign-out, disable, revoke). Flushes only."""
    session.execute(update(Admin).where(Admin.id == admin_id).values(session_generation=Admin.session_generation + 1))


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
