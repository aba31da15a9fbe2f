"""Courses as the runtime holds them: compiled once at start, with what each page needs precomputed."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course import Builder, Course, Lesson, load_compiled

from .templating import Frame, missing_templates

_PLACEHOLDER = re.compile(r"<!--mc:block:(\d+)-->\n?")
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
"""The characters a web address carries as they are (RFC 3986's unreserved): not a space, ``%``, ``?``, ``#``, or
``\\``, which browsers read as ``/``. Letters of other scripts are sent percent-encoded and read back as they were.
"""


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


def discover_courses(path: Path, reserved: Collection[str] = ()) -> list[CourseRuntime]:
    """PATH is a course folder, a compiled course, or a folder of either; their addresses are checked
    (``check_addresses``) against ``reserved``, the service's own (``app.reserved_addresses``)."""
    if not path.is_dir():
        raise CourseLoadError(f"{path}: no such folder")
    if (path / "course.yaml").exists() or (path / "course.json").exists():
        folders = [path]
    else:
        folders = sorted(p for p in path.iterdir() if (p / "course.yaml").exists() or (p / "course.json").exists())
    if not folders:
        raise CourseLoadError(f"{path}: no course.yaml in it or in any folder under it")
    runtimes = [load_course(folder) for folder in folders]
    check_addresses([(rt.folder, rt.slug) for rt in runtimes], reserved)
    return runtimes


def check_addresses(courses: list[tuple[Path, str]], reserved: Collection[str]) -> None:
    """Refuse courses, each a (folder, slug), that could not all be reached at their addresses, ``/{slug}/``: one
    whose slug is a first path segment of the service's own (``reserved``: its route would win, silently), that a
    web address cannot carry as it is, or that another course has too. One line for each, naming the folder."""
    problems: list[str] = []
    seen: dict[str, Path] = {}
    for folder, slug in courses:
        problem = address_problem(folder, slug, reserved)
        if problem:
            problems.append(f"{folder}: {problem}")
        elif slug in seen:
            problems.append(f"{folder}: its address /{slug}/ is also {seen[slug]}'s; "
                            f"{_rename(folder, slug, one=True)}")
        seen.setdefault(slug, folder)
    if problems:
        raise CourseLoadError("\n".join(problems))


def address_problem(folder: Path, slug: str, reserved: Collection[str]) -> str:
    """Why one course, in ``folder``, could not be reached at its address ``/{slug}/`` whatever other courses are
    served with it, and what to rename; ``""`` when it could. `masterclass serve` refuses such a course
    (``check_addresses``), and `masterclass check` and `build` report it as an error."""
    if slug in reserved:
        return f"its address /{slug}/ is one of the service's own; {_rename(folder, slug)}"
    if not _carried(slug):
        return (f"its name {slug!r} cannot be in a web address as it is (use only letters, digits, '-', '_', '.' "
                f"and '~'); {_rename(folder, slug)}")
    return ""


def _carried(slug: str) -> bool:
    """Whether a web address carries the slug as it is, as one path segment."""
    return slug not in ("", ".", "..") and all(
        c in UNRESERVED or (not c.isascii() and c.isprintable() and not c.isspace()) for c in slug)


def _rename(folder: Path, slug: str, *, one: bool = False) -> str:
    """What to rename to change a course's address: the folder whose name is its slug (``one``: of two courses)."""
    if (folder / "course.json").exists():  # as load_course: a compiled course, its slug its source's name
        return f"rename the course folder {'one of them' if one else 'it'} was built from ({slug}) and build it again"
    if one:
        return "rename one of the course folders"
    if folder.name != slug:  # a link to a folder of another name, or "."
        return f"rename the course folder ({folder.resolve()})"
    return "rename the course folder"
