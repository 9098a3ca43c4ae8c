"""The tokens this web process accepted, each with its company's ``auth_version``.

A request that presents one of them reads only that version (in its own statement, with
the rows it is about: ``service.auth``) instead of the token and its company. The
database raises the version, in the same transaction, whenever the company row or the
revocation, expiry or owner of one of its tokens changes (triggers: migration 0019), so a
revocation committed before a request's statement is seen by that statement in every
process: the version differs and the token is checked in full again. Nothing here waits
for a notification, which could arrive after the next request.

Only token hashes are kept (the records hold the hash, never the secret). An entry also
lapses after ``KEEP_SECONDS``, whatever the version says, so a database restored to an
older state cannot leave a process trusting what it read before.
"""

import threading
import time
from typing import NamedTuple

# Tokens kept per process, at most; past it the cache starts again empty.
SIZE = 10_000
# An entry is read in full again after this long, even when its version still holds.
KEEP_SECONDS = 60.0


class Kept(NamedTuple):
    """A token accepted in this process: its record, its company's, and until when it may be used."""

    token: tuple
    company: tuple
    until: float


class AcceptedTokens:
    """Token hash -> ``Kept``: filled by authentication after a full check."""

    def __init__(self, size=SIZE, keep_seconds=KEEP_SECONDS):
        self.size = size
        self.keep_seconds = keep_seconds
        self._entries = {}
        self._lock = threading.Lock()

    def get(self, token_hash):
        """The ``Kept`` entry of this token, or None (never seen, or lapsed)."""
        kept = self._entries.get(token_hash)
        if kept is not None and kept.until > time.monotonic():
            return kept
        return None

    def keep(self, token_hash, token, company):
        """Remember a token authentication has just accepted on a full read."""
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[token_hash] = Kept(token, company, time.monotonic() + self.keep_seconds)

    def touched(self, token_hash, token):
        """The token's ``last_used_at`` was written: keep the new record, same company and term."""
        with self._lock:
            kept = self._entries.get(token_hash)
            if kept is not None:
                self._entries[token_hash] = kept._replace(token=token)

    def forget(self, token_hash):
        """Drop a token (refused on a check): its next request reads it in full."""
        with self._lock:
            self._entries.pop(token_hash, None)

    def clear(self):
        with self._lock:
            self._entries.clear()
