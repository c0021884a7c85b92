"""The rate limiter's counts in this process's memory: memory:// and the fallback while Redis is
away (extensions.Limiter puts it in place of limits' own MemoryStorage).

limits' MemoryStorage expires its keys from a threading.Timer that it restarts from the request
thread whenever the last one (10 ms) has run out: about one thread start per counted request.
That was a twentieth of a post's time, and on CPython 3.13.0 a gthread worker was once killed by
SIGSEGV just after such a Timer failed in threading's bookkeeping. Here expired keys are swept
inline instead, oldest first from a heap, by whichever request counts next: no threads at all.
"""

import heapq
import threading
import time

from limits.storage import Storage


class MemoryCounts(Storage):
    """Fixed-window counters (the board's one strategy: config.RATELIMIT_STRATEGY), each with
    the moment it expires, as Redis keeps them: a count that reaches exactly `amount` (a new or
    emptied window) starts its window again, as INCRBY followed by EXPIRE does."""

    STORAGE_SCHEME = None  # not in limits' registry: handed to the limiter by extensions.Limiter

    def __init__(self, uri=None, wrap_exceptions=False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.lock = threading.Lock()
        self.counts = {}  # key: [count, expires at]
        self.expiring = []  # heap of (expires at, key); a key's entry may be out of date

    @property
    def base_exceptions(self):
        return ValueError

    def _sweep(self, now):
        """Forget every key whose window is over. Called with the lock held."""
        while self.expiring and self.expiring[0][0] <= now:
            _, key = heapq.heappop(self.expiring)
            entry = self.counts.get(key)
            if entry is not None and entry[1] <= now:
                del self.counts[key]

    def incr(self, key, expiry, amount=1):
        now = time.time()
        with self.lock:
            self._sweep(now)
            entry = self.counts.setdefault(key, [0, now])
            entry[0] += amount
            if entry[0] == amount:
                entry[1] = now + expiry
                heapq.heappush(self.expiring, (entry[1], key))
            return entry[0]

    def get(self, key):
        now = time.time()
        with self.lock:
            self._sweep(now)
            entry = self.counts.get(key)
            return entry[0] if entry is not None else 0

    def get_expiry(self, key):
        now = time.time()
        with self.lock:
            self._sweep(now)
            entry = self.counts.get(key)
            return entry[1] if entry is not None else now

    def clear(self, key):
        with self.lock:
            self.counts.pop(key, None)

    def check(self):
        return True

    def reset(self):
        with self.lock:
            forgotten = len(self.counts)
            self.counts.clear()
            self.expiring.clear()
            return forgotten
