"""Courses as the runtime holds them: compiled once at start, with what each page needs precomputed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course import Builder, Course, Lesson, load_compiled

from .templating import Frame, missing_templates

_PLACEHOLDER = re.compile(r"<!--mc:block:(\d+)-->\n?")


class CourseLoadError(Exception):
    pass


@dataclass
class CourseRuntime:
    course: Course
    folder: Path
    """The course's source folder or compiled folder: media and theme overrides live under it."""
    segments: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    lessons: dict[tuple[str, str], Lesson] = field(default_factory=dict)
    order: list[Lesson] = field(default_factory=list)
    previous: CourseRuntime | None = None
    """An earlier runtime of the same course, whose work on unchanged lessons is reused (preview)."""
    pages: dict[tuple[object, ...], Frame | None] = field(default_factory=dict)
    """Lesson pages and blocks rendered once with slots for what differs between learners (learning._from_frame)."""
    statics: dict[int, tuple[object, int, dict[str, Any]]] = field(default_factory=dict)
    """Per block (by id, with the block to check it): the part of its state that is the same for every learner."""

    def __post_init__(self) -> None:
        earlier = self.previous.by_hash if self.previous is not None else {}
        self.by_hash: dict[str, list[dict[str, object]]] = {}
        self.locking = any(m.requires for m in self.course.modules)
        """Whether any module waits for others: only then does opening a lesson need the learner's progress."""
        self._positions: dict[int, int] = {}
        """Each lesson's place in ``order``, by the lesson's id() (lessons compare field by field)."""
        for lesson in self.course.lessons():
            self.lessons[(lesson.module, lesson.id)] = lesson
            self._positions[id(lesson)] = len(self.order)
            self.order.append(lesson)
            segments = earlier.get(lesson.source_hash) or split_segments(lesson)
            self.segments[lesson.iri] = self.by_hash[lesson.source_hash] = segments
        self.previous = None

    @property
    def slug(self) -> str:
        return self.course.slug

    def neighbours(self, lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
        at = self._positions[id(lesson)]
        return (self.order[at - 1] if at else None), (self.order[at + 1] if at + 1 < len(self.order) else None)


def split_segments(lesson: Lesson) -> list[dict[str, object]]:
    """The lesson's HTML cut at its block placeholders: [{"html": ...}, {"block": Block}, ...]."""
    parts = _PLACEHOLDER.split(lesson.html)
    segments: list[dict[str, object]] = []
    for n, part in enumerate(parts):
        if n % 2:
            segments.append({"block": lesson.blocks[int(part)]})
        elif part.strip():
            segments.append({"html": part})
    return segments


def load_course(folder: Path) -> CourseRuntime:
    """A course from its source folder (compiled now) or from a `masterclass build` output folder."""
    if (folder / "course.json").exists():
        course = load_compiled(folder)
    else:
        result = Builder(folder).build()
        if not result.ok or result.course is None:
            problems = "\n".join(f"{folder}/{d.format()}" for d in result.errors)
            raise CourseLoadError(f"{folder}: the course has errors:\n{problems}")
        course = result.course
    missing = missing_templates(folder)
    if missing:  # else every page using the template would fail for every learner
        raise CourseLoadError(f"{folder}: the course's theme has errors:\n" + "\n".join(
            f"{folder}/{problem}" for problem in missing))
    return CourseRuntime(course, folder)


def discover_courses(path: Path) -> list[CourseRuntime]:
    """PATH is a course folder, a compiled course, or a folder of either."""
    if not path.is_dir():
        raise CourseLoadError(f"{path}: no such folder")
    if (path / "course.yaml").exists() or (path / "course.json").exists():
        return [load_course(path)]
    folders = sorted(p for p in path.iterdir() if (p / "course.yaml").exists() or (p / "course.json").exists())
    if not folders:
        raise CourseLoadError(f"{path}: no course.yaml in it or in any folder under it")
    runtimes = [load_course(folder) for folder in folders]
    slugs = [r.slug for r in runtimes]
    if len(set(slugs)) != len(slugs):
        raise CourseLoadError(f"{path}: two courses have the same folder name")
    return runtimes
