"""The build: a linear pipeline of named stages from a course folder to a :class:`Course`.

    read_config -> discover -> compile_lessons -> check_references -> assemble

A :class:`Builder` keeps what it compiled, keyed by content hash, so a rebuild
re-parses only the lessons whose files changed.
"""

from __future__ import annotations

import bisect
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
from .links import is_course_file, target_problem
from .mdext.references import LESSON_FILE
from .model import BlockId, Course, Lesson, Module
from .rules import check_course_rules
from .schema import COURSE_FIELDS, MODULE_FIELDS, validate
from .theme import check_theme

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


MAX_LESSON_BYTES = 2_000_000
"""The largest lesson file compiled: the longest lesson of the Innovation Masterclass is about 20 KB, and
compiling takes about 4 s a megabyte, which the preview does at every save."""


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

ListingCache = dict[str, tuple[tuple[int, int], list[LessonSource], list[Diagnostic]]]
"""Each module folder's lesson files by module: (the folder's mtime and inode, the lessons, their problems)."""

RACY_NS = 2_000_000_000
"""A folder changed this recently is listed again on every build, not taken from the cache: file system
timestamps are coarse, so a file added within the same tick as an earlier change would not change the
folder's mtime (git's "racy" index entries have the same cure)."""


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


def discover(root: Path, config: CourseConfig, diags: Diagnostics, cache: YamlCache | None = None,
             listings: ListingCache | None = None) -> list[ModuleSource]:
    """Stage 2: the listed module folders, their module.yaml and lesson files."""
    listed: list[str] = [m for m in config.values["modules"] or [] if isinstance(m, str)]
    raw_list = config.raw.get("modules") if config.raw else None
    modules_dir = root / "modules"
    present = sorted(e.name for e in os.scandir(modules_dir) if _is_dir(e)) if modules_dir.is_dir() else []
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
        lessons = _lesson_files(root, name, diags) if listings is None else _cached_lesson_files(root, name, diags,
                                                                                                  listings)
        if not lessons:
            diags.error(rel, 1, 1, f"module {name} has no lessons: add files named like 010-introduction.md")
        found.append(ModuleSource(name, module_config, lessons))
    for name in present:
        if name not in seen:
            diags.warning(f"modules/{name}", 1, 1,
                          f'folder modules/{name}/ is not listed in course.yaml "modules", so it is left out')
    return found


def _cached_lesson_files(root: Path, module: str, diags: Diagnostics, listings: ListingCache) -> list[LessonSource]:
    # Adding, removing or renaming a file changes its folder's mtime; editing one in place does not matter here.
    started = time.time_ns()
    stat = os.stat(os.path.join(root, "modules", module))
    stamp = (stat.st_mtime_ns, stat.st_ino)
    hit = listings.get(module)
    if hit is not None and hit[0] == stamp:
        diags.extend(hit[2])
        return hit[1]
    mine = Diagnostics()
    lessons = _lesson_files(root, module, mine)
    if started - stat.st_mtime_ns > RACY_NS:
        listings[module] = (stamp, lessons, list(mine))
    else:
        listings.pop(module, None)
    diags.extend(mine)
    return lessons


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:  # a link that loops: not a lesson
        return False


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _lesson_files(root: Path, module: str, diags: Diagnostics) -> list[LessonSource]:
    entries = []
    slugs: dict[str, str] = {}
    for entry in os.scandir(root / "modules" / module):
        if not _is_file(entry) or not entry.name.endswith(".md"):
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
        self._listings: ListingCache = {}
        self._references = ReferenceChecker()

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
        sources = discover(self.root, config, diags, self._yaml, self._listings)
        lessons, parsed = self.compile_lessons(config, sources, diags)
        course = assemble(self.root, config, sources, lessons)
        if config.raw is not None and config.values["capstone"] is not None:
            course.capstone = compile_capstone(config.raw["capstone"], root=self.root, course_iri=course.iri,
                                               pos=config.raw.at_value("capstone"), diags=diags, md=self._md,
                                               lesson_files={lesson.file for lesson in course.lessons()},
                                               yaml_text=config.raw.text)
        course.certificate = compile_certificate(config.values["certificate"] and config.raw.get("certificate"),
                                                 has_capstone=config.values["capstone"] is not None,
                                                 pos=config.raw.at_value("certificate"), diags=diags)
        self._references.check(self.root, course, config, diags)
        check_theme(self.root, diags)
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
        root = str(self.root) + os.sep
        changed = self._changed
        cached = self._lessons
        known = self._seen
        stat = os.stat
        progress = self.progress
        total = len(everything)
        # This loop runs over every lesson on every rebuild, so it stays lean: one dict lookup and, unless a
        # watcher named the changed files, one stat for a lesson that did not change.
        for n, src in enumerate(everything):
            path = src.path
            seen = known.get(path)
            lesson = None
            if seen is not None and seen.prefix == prefix:
                lesson = cached.get(seen.digest)
                if lesson is not None and (changed is None or path in changed):
                    st = stat(root + path)
                    if (st.st_mtime_ns, st.st_size) != seen.stamp:
                        lesson = None
                # else the watcher says this file did not change: not even a stat is needed.
            if lesson is None:
                lesson, fresh = self._load(root + path, src, prefix, course_iri, allow_html)
                parsed += fresh
            compiled[path] = lesson
            if lesson.diagnostics:
                diags.extend(lesson.diagnostics)
            if progress:
                progress(n + 1, total)
        if len(cached) > len(compiled):
            live = {lesson.source_hash for lesson in compiled.values()}
            for digest in set(cached) - live:
                del cached[digest]
        return compiled, parsed

    def _load(self, full: str, src: LessonSource, prefix: str, course_iri: str, allow_html: bool
              ) -> tuple[Lesson, int]:
        """A lesson whose file is new or changed: from the cache if its content is known, else compiled."""
        stat = os.stat(full)
        with open(full, "rb") as handle:
            data = handle.read()
        digest = source_hash(data, path=src.path, iri_prefix=prefix)
        parsed = 0
        found = self._lessons.get(digest) or (self.lesson_store(digest) if self.lesson_store else None)
        if found is None:
            found = self._compile(data, src, course_iri, allow_html, digest)
            parsed = 1
        self._lessons[digest] = found
        before = self._seen.get(src.path)
        if before is not None and before.digest != digest:
            # The hash covers the path, so no other lesson can be using the old version: drop it now rather
            # than sweep every cached lesson at the end of the build.
            self._lessons.pop(before.digest, None)
        self._seen[src.path] = _Seen((stat.st_mtime_ns, stat.st_size), prefix, digest)
        return found, parsed

    def _compile(self, data: bytes, src: LessonSource, course_iri: str, allow_html: bool, digest: str) -> Lesson:
        if len(data) > MAX_LESSON_BYTES:
            lesson = Lesson(src.slug, src.module, src.path, src.slug, "", "viewed", None, [], "", digest)
            lesson.diagnostics.append(Diagnostic(
                src.path, 1, 1, "error", f"the lesson is {len(data) / 1e6:.1f} MB, and a lesson may be at most "
                f"{MAX_LESSON_BYTES // 1_000_000} MB: split it into lessons a learner can take one at a time"))
            return lesson
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            lesson = Lesson(src.slug, src.module, src.path, src.slug, "", "viewed", None, [], "", digest)
            line = data[: exc.start].count(b"\n") + 1
            lesson.diagnostics.append(Diagnostic(src.path, line, 1, "error", "the file is not UTF-8 text"))
            return lesson
        return compile_lesson(
            text.replace("\r\n", "\n").replace("\r", "\n"),  # Windows' line ends, and old Macs' lone CRs
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
    ReferenceChecker().check(root, course, config, diags)


@dataclass
class _Checked:
    lesson: Lesson
    ids: list[BlockId]
    """The lesson's interactive block ids, in order."""
    media: set[str]
    diagnostics: list[Diagnostic]


class ReferenceChecker:
    """Stage 5, remembering what it found in each lesson so that a rebuild re-checks only what an edit can
    affect: the lessons that changed, those sharing a block id with them before or after the edit, and those
    using a media file that appeared or disappeared. Adding, removing or moving a lesson checks everything."""

    def __init__(self) -> None:
        self._files: list[str] = []
        self._checked: list[_Checked] = []
        self._owners: dict[str, list[int]] = {}
        """Block id -> the positions (in course order) of the lessons using it, once per use, ascending."""
        self._users: dict[str, set[int]] = {}
        """Media path -> the positions of the lessons using it."""
        self._media: dict[str, bool] = {}
        """Media path -> whether it was a file at the last check."""
        self._failing: set[int] = set()
        """Positions of the lessons with problems."""

    def check(self, root: Path, course: Course, config: CourseConfig, diags: Diagnostics) -> None:
        lessons = course.lessons()
        recheck = self._update(lessons)
        if recheck is None:
            recheck = self._start_over(lessons)
        media: dict[str, bool] = {}
        for target, users in self._users.items():
            media[target] = is_course_file(root, root / target)
            if self._media.get(target) != media[target]:
                recheck.update(users)
        self._media = media
        lesson_files = set(self._files)
        for n in recheck:
            found = self._checked[n].diagnostics = self._diagnose(n, lesson_files)
            if found:
                self._failing.add(n)
            else:
                self._failing.discard(n)
        for n in self._failing:
            diags.extend(self._checked[n].diagnostics)
        check_course_rules(course, config.raw, diags, root)

    def _start_over(self, lessons: list[Lesson]) -> set[int]:
        self._files = [lesson.file for lesson in lessons]
        self._checked = [_summary(lesson) for lesson in lessons]
        self._owners = {}
        self._users = {}
        for n, checked in enumerate(self._checked):
            for block in checked.ids:
                self._owners.setdefault(block.id, []).append(n)
            for target in checked.media:
                self._users.setdefault(target, set()).add(n)
        self._media = {}
        self._failing = set()
        return set(range(len(lessons)))

    def _update(self, lessons: list[Lesson]) -> set[int] | None:
        """Take in the lessons that changed; None when lessons were added, removed or moved."""
        if len(lessons) != len(self._checked):
            return None
        changed = [n for n, lesson in enumerate(lessons) if lesson is not self._checked[n].lesson]
        if any(lessons[n].file != self._files[n] for n in changed):
            return None
        recheck: set[int] = set(changed)
        affected: set[str] = set()
        for n in changed:
            old = self._checked[n]
            new = self._checked[n] = _summary(lessons[n])
            for block_id in {b.id for b in old.ids}:
                owners = [m for m in self._owners[block_id] if m != n]
                if owners:
                    self._owners[block_id] = owners
                else:
                    del self._owners[block_id]
            for block in new.ids:
                bisect.insort(self._owners.setdefault(block.id, []), n)
            affected.update(b.id for b in old.ids)
            affected.update(b.id for b in new.ids)
            for target in old.media - new.media:
                self._users[target].discard(n)
                if not self._users[target]:
                    del self._users[target]
            for target in new.media - old.media:
                self._users.setdefault(target, set()).add(n)
        for block_id in affected:
            recheck.update(self._owners.get(block_id, ()))
        return recheck

    def _diagnose(self, n: int, lesson_files: set[str]) -> list[Diagnostic]:
        checked = self._checked[n]
        lesson = checked.lesson
        found: list[Diagnostic] = []
        here: dict[str, int] = {}
        for block in checked.ids:
            first = self._owners[block.id][0]
            if first != n:
                first_line = next(b.line for b in self._checked[first].ids if b.id == block.id)
                where = f"{self._files[first]}:{first_line}"
            elif block.id in here:
                where = f"{lesson.file}:{here[block.id]}"
            else:
                here[block.id] = block.line
                continue
            found.append(Diagnostic(lesson.file, max(block.line, 1), max(block.col, 1), "error",
                                    f'duplicate block id "{block.id}": already used at {where}'))
        for ref in lesson.references:
            if problem := target_problem(ref.kind, ref.target, lesson_files, self._media.__getitem__):
                found.append(Diagnostic(lesson.file, max(ref.line, 1), max(ref.col, 1), "error", problem))
        return found


def _summary(lesson: Lesson) -> _Checked:
    media = {ref.target for ref in lesson.references if ref.kind != "lesson"}
    return _Checked(lesson, lesson.block_ids, media, [])


def build(root: Path | str, *, progress: Progress | None = None) -> BuildResult:
    """Build a course folder once."""
    return Builder(Path(root), progress=progress).build()
