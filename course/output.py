"""The compiled course on disk, and loading it back.

    DIR/course.json            the manifest: course, modules, lesson hashes in order
    DIR/lessons/<hash>.json    one compiled lesson (blocks with answers; no HTML)
    DIR/lessons/<hash>.html    the lesson's HTML fragment, with block placeholders
    DIR/media/...              the course's media files

Lesson files are named by content hash, so a rebuild writes only what changed
and a later build can take unchanged lessons from here instead of re-parsing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .model import Capstone, Course, Lesson, Module

FORMAT = 1

MEDIA_SUFFIXES = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif",
    ".mp4", ".webm", ".ogv", ".mp3", ".ogg", ".m4a", ".wav", ".vtt",
    ".pdf", ".csv", ".txt", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp",
})
"""What learners may be sent from a course's media folder; anything else there (a script that made a
video, say) is the author's own and is neither copied into a build nor served."""


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_compiled(course: Course, root: Path, out: Path) -> int:
    """Write ``course`` to ``out``; returns how many lesson files were (re)written."""
    lessons_dir = out / "lessons"
    lessons_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    keep: set[str] = set()
    present = {entry.name for entry in os.scandir(lessons_dir)}  # one listing, not a stat per lesson
    for lesson in course.lessons():
        keep.update({f"{lesson.source_hash}.json", f"{lesson.source_hash}.html"})
        target = lessons_dir / f"{lesson.source_hash}.json"
        if target.name in present:
            continue
        _write_atomic(lessons_dir / f"{lesson.source_hash}.html", lesson.html)
        _write_atomic(target, json.dumps(lesson.to_dict(with_html=False), ensure_ascii=False))
        written += 1
    for name in present - keep:
        if not name.startswith(".tmp-"):
            os.unlink(lessons_dir / name)
    _copy_media(root / "media", out / "media")
    # The manifest goes last: a reader never sees it point at a lesson not yet written.
    _write_atomic(out / "course.json", json.dumps(course.manifest(), ensure_ascii=False, separators=(",", ":")))
    return written


def _copy_media(source: Path, target: Path) -> None:
    if not source.is_dir():
        return
    for folder, _dirs, files in os.walk(source):
        dest = target / Path(folder).relative_to(source)
        dest.mkdir(parents=True, exist_ok=True)
        for name in files:
            if Path(name).suffix.lower() not in MEDIA_SUFFIXES:
                continue
            src_file, dst_file = Path(folder) / name, dest / name
            src_stat = src_file.stat()
            if dst_file.exists():
                dst_stat = dst_file.stat()
                if dst_stat.st_size == src_stat.st_size and dst_stat.st_mtime_ns == src_stat.st_mtime_ns:
                    continue
            shutil.copy2(src_file, dst_file)


def read_lesson(out: Path, digest: str) -> Lesson | None:
    """A lesson from an earlier build, or None when that build did not have it."""
    try:
        data = json.loads((out / "lessons" / f"{digest}.json").read_text(encoding="utf-8"))
        html = (out / "lessons" / f"{digest}.html").read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    lesson = Lesson.from_dict(data)
    lesson.html = html
    return lesson


class CompiledCourseError(Exception):
    pass


def load_compiled(out: Path | str) -> Course:
    """Load a course written by :func:`write_compiled`."""
    out = Path(out)
    try:
        manifest: dict[str, Any] = json.loads((out / "course.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CompiledCourseError(f"{out}: not a compiled course ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise CompiledCourseError(f"{out}: compiled course format {manifest.get('format')} is not {FORMAT}")
    modules = []
    for m in manifest["modules"]:
        lessons = []
        for digest in m["lessons"]:
            lesson = read_lesson(out, digest)
            if lesson is None:
                raise CompiledCourseError(f"{out}: lesson {digest} is missing")
            lessons.append(lesson)
        modules.append(
            Module(
                id=m["id"], title=m["title"], summary=m["summary"], iri=m["iri"],
                complete_when=m["complete_when"], mastery_score=m["mastery_score"],
                requires=m["requires"], lessons=lessons,
            )
        )
    return Course(
        id=manifest["id"], slug=manifest["slug"], title=manifest["title"], language=manifest["language"],
        description=manifest["description"], mastery_score=manifest["mastery_score"],
        max_attempts=manifest["max_attempts"], completion_modules=manifest["completion"]["modules"],
        completion_capstone=manifest["completion"]["capstone"], allow_html=manifest["allow_html"],
        modules=modules,
        capstone=Capstone.from_dict(manifest["capstone"]) if manifest.get("capstone") else None,
        certificate=manifest.get("certificate"),
    )
