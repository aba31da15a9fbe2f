"""Storage: every SQL statement of the engine lives in this package.

The web layer calls these functions with plain values and gets plain values
back, so a server database could take SQLite's place without touching it.
"""

from __future__ import annotations

from .db import Store

__all__ = ["Store"]
