"""Shared test helpers: a small course folder to put a lesson under test in, and a database as an older engine
left it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from engine.storage.db import Store
from engine.storage.grouping import one_request
from engine.storage.migrations import MIGRATIONS, split_statements

COURSE_YAML = """\
id: https://learn.example.gov.uk/courses/demo
title: Demo course
language: en-GB
modules: [01-intro]
"""

OTHER_LESSON = """\
---
title: The other lesson
---
Nothing to see.
"""


def make_course(root: Path, *, lesson: str | None = None, course_yaml: str = COURSE_YAML) -> Path:
    """A valid one-module course; ``lesson`` becomes modules/01-intro/010-lesson.md."""
    module = root / "modules" / "01-intro"
    module.mkdir(parents=True, exist_ok=True)
    (root / "media").mkdir(exist_ok=True)
    (root / "course.yaml").write_text(course_yaml, encoding="utf-8")
    (module / "module.yaml").write_text("title: Introduction\nsummary: Where it starts.\n", encoding="utf-8")
    (module / "010-lesson.md").write_text(lesson or "---\ntitle: A lesson\n---\nHello.\n", encoding="utf-8")
    (module / "020-other.md").write_text(OTHER_LESSON, encoding="utf-8")
    for name in ("pic.png", "clip.mp4", "clip.vtt"):
        (root / "media" / name).write_bytes(b"WEBVTT\n" if name.endswith(".vtt") else b"\0")
    return root


def database_at(path: Path, version: int) -> sqlite3.Connection:
    """A new database file at schema ``version``, made by the migrations up to it as an engine of that version
    ran them; an open connection (autocommit, WAL) to put that engine's rows in before a ``Store`` upgrades it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for number, script in enumerate(MIGRATIONS[:version], start=1):
        conn.execute("BEGIN")
        for sql in split_statements(script):
            conn.execute(sql)
        conn.execute(f"PRAGMA user_version={number}")
        conn.execute("COMMIT")
    return conn


def statement_ids(db: Path) -> list[str]:
    """The ids of the statements stored in the database file, in the order stored, read on a connection of its
    own (so only what has been committed)."""
    conn = sqlite3.connect(db)
    try:
        return [i for (i,) in conn.execute("SELECT id FROM statements ORDER BY seq")]
    finally:
        conn.close()


async def grouped_action(store: Store, write: Callable[[], object], *, fail: bool = False) -> BaseException | None:
    """One request on the event loop whose action ``write``s in the store's transaction, failing after it when
    ``fail``; what its group's commit said (None, or why the group was undone)."""
    with one_request():
        try:
            with store.transaction():
                write()
                if fail:
                    raise ValueError("the rest of the action failed")
        except ValueError:
            pass
        return await store.committed()
