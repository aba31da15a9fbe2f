"""Statement ids the engine makes: time-ordered UUIDs (version 7, RFC 9562), decision 0018.

A statement id is the key of the store's id index. Random (version 4) ids put each new statement on a random
page of that index, which at the service's size is gigabytes: a page read, a page written to the log and copied
back at the next checkpoint, per statement. Ids that grow with time all land on the index's last pages, which
stay in memory and are written once per commit for a whole group of statements.

They are still RFC 4122 variant UUIDs, which is all xAPI (and Learning Locker) asks of an id, and still
unguessable: 74 of their bits are random. What they add is the millisecond they were made, which the statement
carries anyway (``stored``, ``timestamp``).
"""

from __future__ import annotations

import os
import threading
import time

_RANDOM_BITS = 74
"""rand_a (12 bits) and rand_b (62 bits), read as one number: ids made in the same millisecond count up from a
random start (RFC 9562 section 6.2, method 2), so ids sort in the order they were made."""

_lock = threading.Lock()
_last_ms = 0
_last_random = 0


def statement_id() -> str:
    """A new version 7 UUID in its standard form; each is greater than the one made before it in this process,
    even if the clock steps back."""
    global _last_ms, _last_random
    ms = time.time_ns() // 1_000_000
    fresh = int.from_bytes(os.urandom(10), "big") >> (80 - _RANDOM_BITS)
    with _lock:
        if ms > _last_ms:
            _last_ms, _last_random = ms, fresh
        else:  # the same millisecond, or the clock went back: count on from the last id
            _last_random += 1 + (fresh >> 52)  # a random step of up to 2**22, so the next id is not predictable
            if _last_random >> _RANDOM_BITS:
                _last_ms, _last_random = _last_ms + 1, fresh >> 1
        ms, value = _last_ms, _last_random
    rand_a, rand_b = value >> 62, value & ((1 << 62) - 1)
    hexa = f"{ms & 0xFFFF_FFFF_FFFF:012x}7{rand_a:03x}{(0b10 << 62) | rand_b:016x}"
    return f"{hexa[:8]}-{hexa[8:12]}-{hexa[12:16]}-{hexa[16:20]}-{hexa[20:]}"
