"""The build: a linear pipeline of named stages from a course folder to a :class:`Course`.

    read_config -> discover -> compile_lessons -> check_references -> assemble

A :class:`Builder` keeps what it compiled, keyed by content hash, so a rebuild
re-parses only the lessons whose files changed.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import yamlsource
from .capstone import compile_capstone
from .certificate import compile_certificate
from .diagnostics import Diagnostic, Diagnostics, did_you_mean
from .lesson import compile_lesson, make_markdown, source_hash
from .mdext.references import LESSON_FILE
from .model import Course, Lesson, Module
from .schema import COURSE_FIELDS, MODULE_FIELDS, validate

MODULE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
RESERVED = frozenset({"media", "assets", "static", "capstone", "gallery", "progress", "xapi", "api", "certificate",
                      "certificates", "reports"})
"""Module folder names that would clash with the runtime's URLs under a course."""

Progress = Callable[[int, int], None]


@dataclass
class LessonSource:
    path: str
    """Course-relative, with ``/``."""
    module: str
    slug: str


@dataclass
class ModuleSource:
    id: str
    config: dict[str, Any]
    lessons: list[LessonSource]


@dataclass
class CourseConfig:
    values: dict[str, Any]
    raw: yamlsource.LocatedDict | None


@dataclass
class BuildResult:
    course: Course | None
    diagnostics: list[Diagnostic]
    seconds: float
    parsed: int
    """How many lessons were parsed in this build (the rest came from the cache)."""

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.course is not None and not self.errors

    def summary(self) -> str:
        course = self.course
        modules = len(course.modules) if course else 0
        lessons = len(course.lessons()) if course else 0
        blocks = sum(len(lesson.blocks) for lesson in course.lessons()) if course else 0
        return (
            f"{modules} modules, {lessons} lessons, {blocks} blocks, {len(self.errors)} errors, "
            f"{len(self.warnings)} warnings in {self.seconds:.2f}s"
        )


YamlCache = dict[str, tuple[tuple[int, int], Any, list[Diagnostic]]]
"""course.yaml and module.yaml files by path: (mtime and size, parsed value, its problems)."""


def read_yaml(root: Path, rel: str, diags: Diagnostics, cache: YamlCache | None = None) -> Any:
    if cache is not None:
        try:
            stat = (root / rel).stat()
        except OSError:
            stat = None
        if stat is not None:
            stamp = (stat.st_mtime_ns, stat.st_size)
            hit = cache.get(rel)
            if hit and hit[0] == stamp:
                diags.extend(hit[2])
                return hit[1]
            mine = Diagnostics()
            value = read_yaml(root, rel, mine)
            cache[rel] = (stamp, value, list(mine))
            diags.extend(mine)
            return value
    try:
        text = (root / rel).read_text(encoding="utf-8")
    except FileNotFoundError:
        diags.error(rel, 1, 1, f"{rel} is missing")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        diags.error(rel, 1, 1, f"cannot read {rel}: {exc}")
        return None
    try:
        return yamlsource.load(text)
    except yamlsource.YamlError as exc:
        lines = text.split("\n")
        diags.error(rel, exc.line, exc.col, exc.message, lines[exc.line - 1] if exc.line <= len(lines) else "")
        return None


def read_config(root: Path, diags: Diagnostics, cache: YamlCache | None = None) -> CourseConfig:
    """Stage 1: course.yaml."""
    before = len(diags)
    raw = read_yaml(root, "course.yaml", diags, cache)
    if len(diags) > before:
        # Unreadable course.yaml: its own message says why; "missing key" messages would only add noise.
        return CourseConfig({f.name: f.default for f in COURSE_FIELDS}, None)
    values = validate(raw, COURSE_FIELDS, path="course.yaml", diags=diags, what="course.yaml")
    return CourseConfig(values, raw if isinstance(raw, yamlsource.LocatedDict) else None)


def discover(root: Path, config: CourseConfig, diags: Diagnostics, cache: YamlCache | None = None
             ) -> list[ModuleSource]:
    """Stage 2: the listed module folders, their module.yaml and lesson files."""
    listed: list[str] = [m for m in config.values["modules"] or [] if isinstance(m, str)]
    raw_list = config.raw.get("modules") if config.raw else None
    modules_dir = root / "modules"
    present = sorted(p.name for p in modules_dir.iterdir() if p.is_dir()) if modules_dir.is_dir() else []
    found: list[ModuleSource] = []
    seen: set[str] = set()
    for n, name in enumerate(listed):
        pos = raw_list.at(n) if isinstance(raw_list, yamlsource.LocatedList) else yamlsource.Pos(1, 1)
        if name in seen:
            diags.error("course.yaml", pos.line, pos.col, f'module "{name}" is listed twice')
            continue
        seen.add(name)
        if not MODULE_NAME.match(name) or name in RESERVED:
            why = "is reserved" if name in RESERVED else "may use only lower-case letters, digits, - and _"
            diags.error("course.yaml", pos.line, pos.col, f'module folder name "{name}" {why}')
            continue
        if name not in present:
            diags.error("course.yaml", pos.line, pos.col,
                        f'module "{name}" is listed but modules/{name}/ is missing{did_you_mean(name, present)}')
            continue
        rel = f"modules/{name}/module.yaml"
        before = len(diags)
        module_raw = read_yaml(root, rel, diags, cache)
        if len(diags) > before:
            module_config = {f.name: f.default for f in MODULE_FIELDS}
        else:
            module_config = validate(module_raw, MODULE_FIELDS, path=rel, diags=diags, what="module.yaml")
        lessons = _lesson_files(root, name, diags)
        if not lessons:
            diags.error(rel, 1, 1, f"module {name} has no lessons: add files named like 010-introduction.md")
        found.append(ModuleSource(name, module_config, lessons))
    for name in present:
        if name not in seen:
            diags.warning(f"modules/{name}", 1, 1,
                          f'folder modules/{name}/ is not listed in course.yaml "modules", so it is left out')
    return found


def _lesson_files(root: Path, module: str, diags: Diagnostics) -> list[LessonSource]:
    entries = []
    slugs: dict[str, str] = {}
    for entry in os.scandir(root / "modules" / module):
        if not entry.is_file() or not entry.name.endswith(".md"):
            continue
        rel = f"modules/{module}/{entry.name}"
        match = LESSON_FILE.match(entry.name)
        if not match:
            diags.warning(rel, 1, 1, "lesson file names look like 010-some-title.md (a number, -, lower-case "
                          "letters, digits and -), so this file is left out")
            continue
        slug = match.group(2)
        if slug in slugs:
            diags.error(rel, 1, 1, f'two lessons in module {module} are called "{slug}": {slugs[slug]} and {rel}')
            continue
        slugs[slug] = rel
        entries.append((int(match.group(1)), entry.name, LessonSource(rel, module, slug)))
    return [source for _, _, source in sorted(entries, key=lambda e: (e[0], e[1]))]


@dataclass
class _Seen:
    stamp: tuple[int, int]
    prefix: str
    digest: str


@dataclass
class Builder:
    """Builds one course folder, again and again, re-parsing only what changed."""

    root: Path
    progress: Progress | None = None
    lesson_store: Callable[[str], Lesson | None] | None = None
    """Looks a lesson up by hash outside memory, e.g. in a previous build's output."""
    _lessons: dict[str, Lesson] = field(default_factory=dict)
    _seen: dict[str, _Seen] = field(default_factory=dict)
    _yaml: YamlCache = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self._md = make_markdown()
        self._changed: set[str] | None = None

    def build(self, changed: Collection[str | Path] | None = None) -> BuildResult:
        """Build again. ``changed`` (paths a file watcher reported) lets unchanged lessons skip even a stat."""
        started = time.perf_counter()
        root = self.root.resolve()
        self._changed = None if changed is None else {
            Path(p).resolve().relative_to(root).as_posix() if Path(p).is_absolute() else Path(p).as_posix()
            for p in changed if not Path(p).is_absolute() or Path(p).resolve().is_relative_to(root)}
        diags = Diagnostics()
        if not self.root.is_dir():
            diags.error(str(self.root), 1, 1, "no such course folder")
            return BuildResult(None, diags.sorted(), time.perf_counter() - started, 0)
        config = read_config(self.root, diags, self._yaml)
        if config.raw is None:
            return BuildResult(None, diags.sorted(), time.perf_counter() - started, 0)
        sources = discover(self.root, config, diags, self._yaml)
        lessons, parsed = self.compile_lessons(config, sources, diags)
        course = assemble(self.root, config, sources, lessons)
        if config.raw is not None and config.values["capstone"] is not None:
            course.capstone = compile_capstone(config.raw["capstone"], root=self.root, course_iri=course.iri,
                                               pos=config.raw.at_value("capstone"), diags=diags, md=self._md)
        course.certificate = compile_certificate(config.values["certificate"] and config.raw.get("certificate"),
                                                 has_capstone=config.values["capstone"] is not None,
                                                 pos=config.raw.at_value("certificate"), diags=diags)
        check_references(self.root, course, config, diags)
        return BuildResult(course, diags.sorted(), time.perf_counter() - started, parsed)

    def compile_lessons(
        self, config: CourseConfig, sources: list[ModuleSource], diags: Diagnostics
    ) -> tuple[dict[str, Lesson], int]:
        """Stage 3: compile each lesson, from the cache when its content hash is known."""
        course_iri = str(config.values["id"] or "urn:masterclass:unnamed")
        allow_html = bool(config.values["allow_html"])
        prefix = f"{course_iri}\0{allow_html}"
        everything = [lesson for module in sources for lesson in module.lessons]
        compiled: dict[str, Lesson] = {}
        parsed = 0
        root = str(self.root)
        for n, src in enumerate(everything):
            full = os.path.join(root, src.path)
            seen = self._seen.get(src.path)
            if (self._changed is not None and src.path not in self._changed and seen and seen.prefix == prefix
                    and seen.digest in self._lessons):
                # The watcher says this file did not change: not even a stat is needed.
                stamp = seen.stamp
            else:
                stat = os.stat(full)
                stamp = (stat.st_mtime_ns, stat.st_size)
            if seen and seen.stamp == stamp and seen.prefix == prefix and seen.digest in self._lessons:
                lesson = self._lessons[seen.digest]
            else:
                with open(full, "rb") as handle:
                    data = handle.read()
                digest = source_hash(data, path=src.path, iri_prefix=prefix)
                found = self._lessons.get(digest) or (self.lesson_store(digest) if self.lesson_store else None)
                if found is None:
                    found = self._compile(data, src, course_iri, allow_html, digest)
                    parsed += 1
                lesson = found
                self._lessons[digest] = lesson
                self._seen[src.path] = _Seen(stamp, prefix, digest)
            compiled[src.path] = lesson
            diags.extend(lesson.diagnostics)
            if self.progress:
                self.progress(n + 1, len(everything))
        live = {lesson.source_hash for lesson in compiled.values()}
        for digest in set(self._lessons) - live:
            del self._lessons[digest]
        return compiled, parsed

    def _compile(self, data: bytes, src: LessonSource, course_iri: str, allow_html: bool, digest: str) -> Lesson:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            lesson = Lesson(src.slug, src.module, src.path, src.slug, "", "viewed", None, [], "", digest)
            line = data[: exc.start].count(b"\n") + 1
            lesson.diagnostics.append(Diagnostic(src.path, line, 1, "error", "the file is not UTF-8 text"))
            return lesson
        return compile_lesson(
            text.replace("\r\n", "\n"),
            md=self._md,
            path=src.path,
            module=src.module,
            slug=src.slug,
            course_iri=course_iri,
            allow_html=allow_html,
            digest=digest,
        )


def assemble(
    root: Path, config: CourseConfig, sources: list[ModuleSource], lessons: dict[str, Lesson]
) -> Course:
    """Stage 4: put modules and lessons together into the course model."""
    values = config.values
    course_iri = str(values["id"] or "urn:masterclass:unnamed").rstrip("/")
    completion = values["completion"] or {}
    modules = [
        Module(
            id=src.id,
            title=src.config["title"] or src.id,
            summary=src.config["summary"] or "",
            iri=f"{course_iri}/{src.id}",
            complete_when=src.config["complete_when"],
            mastery_score=float(src.config["mastery_score"] if src.config["mastery_score"] is not None
                                else values["mastery_score"]),
            requires=list(src.config["requires"] or []),
            lessons=[lessons[lesson.path] for lesson in src.lessons],
        )
        for src in sources
    ]
    required = completion.get("modules", "all")
    return Course(
        id=course_iri,
        slug=root.resolve().name,
        title=values["title"] or root.name,
        language=values["language"],
        description=values["description"] or "",
        mastery_score=float(values["mastery_score"]),
        max_attempts=values["max_attempts"],
        completion_modules=[m.id for m in modules] if required == "all" else list(required),
        completion_capstone=bool(completion.get("capstone", False)),
        allow_html=bool(values["allow_html"]),
        modules=modules,
        capstone=None,
        certificate=values["certificate"],
    )


def check_references(root: Path, course: Course, config: CourseConfig, diags: Diagnostics) -> None:
    """Stage 5: what one lesson cannot check alone: unique ids, links, media, module references."""
    first_seen: dict[str, str] = {}
    lesson_files = {lesson.file for lesson in course.lessons()}
    existing: dict[str, bool] = {}
    for lesson in course.lessons():
        for block in lesson.blocks:
            if not block.interactive or not block.id:
                continue
            where = f"{lesson.file}:{block.line}"
            if block.id in first_seen:
                diags.error(lesson.file, block.line, 1,
                            f'duplicate block id "{block.id}": already used at {first_seen[block.id]}')
            else:
                first_seen[block.id] = where
        for ref in lesson.references:
            if ref.kind == "lesson":
                if ref.target not in lesson_files:
                    diags.error(lesson.file, ref.line, ref.col, f'broken link: no lesson at "{ref.target}"')
                continue
            if ref.target not in existing:
                existing[ref.target] = (root / ref.target).is_file()
            if not existing[ref.target]:
                diags.error(lesson.file, ref.line, ref.col, f'missing media file "{ref.target}"')
    module_ids = [m.id for m in course.modules]
    raw = config.raw
    for module in course.modules:
        for name in module.requires:
            if name not in module_ids:
                diags.error(f"modules/{module.id}/module.yaml", 1, 1,
                            f'requires unknown module "{name}"{did_you_mean(name, module_ids)}')
    for name in course.completion_modules:
        if name not in module_ids and raw is not None:
            pos = raw.at_value("completion")
            diags.error("course.yaml", pos.line, pos.col,
                        f'completion names unknown module "{name}"{did_you_mean(name, module_ids)}')


def build(root: Path | str, *, progress: Progress | None = None) -> BuildResult:
    """Build a course folder once."""
    return Builder(Path(root), progress=progress).build()
