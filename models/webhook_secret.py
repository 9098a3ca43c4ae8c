"""Webhook signing secrets: generated in the Standard Webhooks form, kept encrypted.

A receiver verifies with the secret, so Herd must sign with it: a hash would not do.
The secret is encrypted (Fernet: AES and an HMAC) with a key derived from the
installation's SECRET_KEY, so a copy of the database alone reveals none.
"""

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret():
    """A fresh signing secret, ``whsec_`` + base64 of 32 random bytes (the Standard Webhooks form)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _fernet(key):
    # A distinct key for this use: the Flask session never signs with the same bytes.
    digest = hashlib.sha256(b"herd-webhook-secrets:" + key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret, key):
    """``secret`` encrypted under the installation ``key`` (what the database keeps)."""
    return _fernet(key).encrypt(secret.encode()).decode()


def unseal(sealed, key):
    """The secret ``seal`` encrypted; raises ``cryptography.fernet.InvalidToken`` on a wrong key."""
    return _fernet(key).decrypt(sealed.encode()).decode()
