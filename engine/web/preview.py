"""Authoring preview: the course served with a throwaway database and a signed-in preview learner.

A watcher recompiles what changed (the compiler's own incremental build) and
tells open pages to reload over server-sent events. Authoring errors never stop
the preview: the affected page shows them, and the next good save recovers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import time
from collections.abc import AsyncIterator
from contextlib import aclosing, suppress
from dataclasses import dataclass, field
from pathlib import Path

import watchfiles

from course import Builder, BuildResult, Diagnostic

from .courses import CourseRuntime
from .templating import DEFAULT_THEME, _theme_of, environment

log = logging.getLogger("masterclass.preview")
PREVIEW_EMAIL = "preview@masterclass.invalid"
WATCH_CHECK = 0.5
"""Seconds between looks at whether the course folder is still the one watched, or is back."""


def folder_identity(folder: Path) -> tuple[int, int] | None:
    """Which folder is at this path (device and inode), or None when none is."""
    try:
        found = os.stat(folder)
    except OSError:
        return None
    return (found.st_dev, found.st_ino) if stat.S_ISDIR(found.st_mode) else None


@dataclass
class Preview:
    """What the preview knows: the last good course, the current problems, and who is listening."""

    root: Path
    builder: Builder
    runtime: CourseRuntime | None = None
    result: BuildResult | None = None
    version: int = 0
    changed_at: float = 0.0
    listeners: set[asyncio.Queue[int]] = field(default_factory=set)
    courses: dict[str, CourseRuntime] = field(default_factory=dict)
    """The service's courses, updated in place on each good rebuild."""
    lessons: frozenset[str] = frozenset()
    """The last build's lesson files. An error in one is that lesson's own; any other (course.yaml, a module.yaml,
    a capstone guidance file, which is Markdown too) is the course's."""

    @classmethod
    def start(cls, root: Path) -> Preview:
        preview = cls(root=root, builder=Builder(root))
        preview.rebuild()
        return preview

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.result.diagnostics if self.result else []

    def problems_for(self, source_file: str | None) -> list[Diagnostic]:
        """Errors that stop this page: the lesson's own, and the course's."""
        return [d for d in self.diagnostics if d.severity == "error"
                and (d.path == source_file or d.path not in self.lessons)]

    def rebuild(self, changed: set[str] | None = None) -> None:
        result = self.builder.build(changed)
        self.result = result
        self.lessons = frozenset(lesson.file for lesson in result.course.lessons()) if result.course else frozenset()
        if result.course is not None and not any(
            d.severity == "error" and d.path not in self.lessons for d in result.diagnostics
        ):
            # Lessons with errors still compile to something; their pages show the errors instead.
            self.runtime = CourseRuntime(result.course, self.root, previous=self.runtime)
            self.courses[self.runtime.slug] = self.runtime
        self.version += 1
        for queue in list(self.listeners):
            queue.put_nowait(self.version)

    async def watch(self, stop: asyncio.Event) -> None:
        """Rebuild on every change until ``stop``, whatever happens to the course folder meanwhile.

        A file system watch follows the folder it was given, not its path: one moved away is watched where it
        went, and one deleted is watched no more, so a new folder at the path (deleted and made again, or put in
        the place of one moved away, as some editors and git checkouts do) would not be seen at all. So a watch
        lasts as long as the folder at the path is the one it started on; then, once a folder is there again
        (that one moved back, or another), a new watch starts on it and rebuilds everything (anything may have
        changed meanwhile).
        """
        first = True  # the folder Preview.start built
        while not stop.is_set():
            identity = folder_identity(self.root)
            if identity is not None:
                try:
                    await self._watch(identity, stop, rebuild=not first)
                    first = False
                    continue
                except OSError as exc:  # gone again before the watch started on it
                    log.warning("cannot watch %s: %s", self.root, exc)
            first = False
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), WATCH_CHECK)

    async def _watch(self, identity: tuple[int, int], stop: asyncio.Event, *, rebuild: bool) -> None:
        """Rebuild on every change until ``stop``, or until the folder at the course's path is not the one this
        watch started on. ``rebuild``: rebuild everything once the watch is on, so nothing done before is lost."""
        names = {self.root.absolute(), self.root.resolve()}
        # A batch, or an empty one after WATCH_CHECK seconds without a change: the watch is on by the first.
        batches = watchfiles.awatch(self.root, DEFAULT_THEME, debounce=400, step=10, stop_event=stop,
                                    rust_timeout=int(WATCH_CHECK * 1000), yield_on_timeout=True)
        async with aclosing(batches):
            async for changes in batches:
                if rebuild:
                    rebuild = False
                    self._rebuild(None)
                if any(Path(path) in names for _, path in changes) or (
                        not changes and folder_identity(self.root) != identity):
                    log.warning("%s was moved or deleted: the preview picks it up again when it is back", self.root)
                    return
                if changes:
                    self._rebuild(changes)

    def _rebuild(self, changes: set[tuple[watchfiles.Change, str]] | None) -> None:
        """Rebuild what changed (``None``: everything)."""
        self.changed_at = time.perf_counter()
        if changes is None or any(Path(path).is_relative_to(DEFAULT_THEME) or "/theme/" in path
                                  for _, path in changes):
            environment.cache_clear()  # templates changed: drop the compiled template cache
            _theme_of.cache_clear()
        try:
            self.rebuild(None if changes is None else {path for _, path in changes})
        except Exception:  # the preview must outlive any bug in one rebuild
            log.exception("rebuild failed")

    async def events(self) -> AsyncIterator[str]:
        """Server-sent events: one ``reload`` per rebuild, and a comment now and then to keep proxies open."""
        queue: asyncio.Queue[int] = asyncio.Queue()
        self.listeners.add(queue)
        try:
            yield f"event: hello\ndata: {self.version}\n\n"
            while True:
                try:
                    version = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: reload\ndata: {json.dumps({'version': version})}\n\n"
        finally:
            self.listeners.discard(queue)
