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
    """A token accepted in this process: its record and its company's."""

    token: tuple
    company: tuple


class ExpiringMap:
    """Key -> value, each for ``ttl`` seconds from when it was put, at most ``size`` keys (when
    full it starts again empty: cheaper than tracking the oldest, and refilled by the next
    calls). Reads take no lock; writes do."""

    def __init__(self, size, ttl):
        self.size = size
        self.ttl = ttl
        self._entries = {}  # key -> (time.monotonic() it lapses at, value)
        self._lock = threading.Lock()

    def get(self, key):
        """The value put for ``key`` if it has not lapsed, else None."""
        hit = self._entries.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def put(self, key, value):
        """Keep ``value`` for ``key`` for ``ttl`` seconds from now."""
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl, value)

    def replace(self, key, value):
        """A new value for a key still held, within the term it was put for (else nothing)."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries[key] = (hit[0], value)

    def forget(self, key):
        """Drop ``key``."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self):
        """Drop every key."""
        with self._lock:
            self._entries.clear()


class AcceptedTokens(ExpiringMap):
    """Token hash -> ``Kept``: filled by authentication after a full check."""

    def __init__(self, size=SIZE, keep_seconds=KEEP_SECONDS):
        super().__init__(size, keep_seconds)

    def keep(self, token_hash, token, company):
        """Remember a token authentication has just accepted on a full read."""
        self.put(token_hash, Kept(token, company))

    def touched(self, token_hash, token):
        """The token's ``last_used_at`` was written: keep the new record, same company and term."""
        kept = self.get(token_hash)
        if kept is not None:
            self.replace(token_hash, kept._replace(token=token))
