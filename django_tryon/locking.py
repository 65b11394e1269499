"""Riding out SQLite's "database is locked".

SQLite lets one writer in at a time. With a busy timeout (check W013) a writer waits for
the lock; without one, or past it, the statement fails with ``OperationalError: database
is locked``. For work that is safe to run again (a provider callback, one item of a bulk
run), ``when_unlocked`` runs it again after a short pause instead of answering 500.
"""

from __future__ import annotations

import time

from django.db import OperationalError

#: Pauses between attempts, in seconds: about 1.5 s in all.
PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8)


class StillLocked(Exception):
    """The database stayed locked through every attempt."""


def is_locked(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def when_unlocked(work, *args, **kwargs):
    """``work(*args, **kwargs)``, run again while SQLite says the database is locked;
    raises ``StillLocked`` when it still is after the last pause."""
    for pause in (*PAUSES, None):
        try:
            return work(*args, **kwargs)
        except OperationalError as exc:
            if not is_locked(exc):
                raise
            if pause is None:
                raise StillLocked() from exc
            time.sleep(pause)
    raise AssertionError("unreachable")
