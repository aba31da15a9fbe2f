"""Authoring preview: the course served with a throwaway database and a signed-in preview learner.

A watcher recompiles what changed (the compiler's own incremental build) and
tells open pages to reload over server-sent events. Authoring errors never stop
the preview: the affected page shows them, and the next good save recovers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import watchfiles

from course import Builder, BuildResult, Diagnostic

from .courses import CourseRuntime
from .templating import DEFAULT_THEME, _theme_of, environment

log = logging.getLogger("masterclass.preview")
PREVIEW_EMAIL = "preview@masterclass.invalid"


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
        async for changes in watchfiles.awatch(self.root, DEFAULT_THEME, debounce=400, step=10, stop_event=stop):
            self.changed_at = time.perf_counter()
            if any(Path(path).is_relative_to(DEFAULT_THEME) or "/theme/" in path for _, path in changes):
                environment.cache_clear()  # templates changed: drop the compiled template cache
                _theme_of.cache_clear()
            try:
                self.rebuild({path for _, path in changes})
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
