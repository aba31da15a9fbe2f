"""The compiled course on disk, and loading it back.

    DIR/course.json            the manifest: course, modules, lesson hashes in order, and where
                               each lesson is: {hash: [pack, offset, length]}
    DIR/lessons/<name>.pack    compiled lessons, one JSON document per line (blocks with answers,
                               and the HTML fragment with block placeholders)
    DIR/media/...              the course's media files

Lessons are identified by content hash, so a rebuild writes only what changed,
into one new pack, and a later build can take unchanged lessons from here instead
of re-parsing. Packs rather than a file per lesson: on the disks this runs on,
creating a file costs 0.5 to 2 ms whatever its size, which for 2,000 lessons was
more than all the rest of writing a build.

A pack is never changed once written. Packs no lesson refers to any more are
removed; when edits leave too many packs, or packs mostly hold lessons no longer
in the course, the live lessons are copied into a new pack.

A build that fails leaves the output a reader could load as it was: what can fail
(copying media, making folders) is done first, into temporary files beside their
places, and ``course.json`` is replaced last, in one step, so the previous one
names packs that are all still there. Only then are media files the course no
longer has removed (with temporary files a killed build left), as packs are.

The build writes nothing through a link in the output folder: a link where it
writes a folder (``media``, a folder in it, ``lessons``) fails the build, and a
link where a file goes is replaced by the file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .model import Capstone, Course, Lesson, Module

FORMAT = 2
"""1 was a ``<hash>.json`` and a ``<hash>.html`` file per lesson; it can still be loaded."""

MAX_PACKS = 32
"""More packs than this (one is added per rebuild that changed lessons) and the small ones are merged."""

MEDIA_SUFFIXES = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif",
    ".mp4", ".webm", ".ogv", ".mp3", ".ogg", ".m4a", ".wav", ".vtt",
    ".pdf", ".csv", ".txt", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp",
})
"""What learners may be sent from a course's media folder; anything else there (a script that made a
video, say) is the author's own and is neither copied into a build nor served."""

Location = tuple[str, int, int]
"""Where a compiled lesson is: pack file name, byte offset and byte length of its line."""

_Stamp = tuple[int, int, int, int]
_indexes: dict[str, tuple[_Stamp, dict[str, Location]]] = {}
"""The lesson index of each output folder's course.json as last read or written by this process, so that
a rebuild or a run of read_lesson calls does not parse the manifest again."""


def _write_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.writelines(chunks)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _stamp(path: Path) -> _Stamp | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size


def _parse_index(manifest: dict[str, Any]) -> dict[str, Location]:
    if manifest.get("format") != FORMAT:
        return {}
    return {digest: (str(loc[0]), int(loc[1]), int(loc[2])) for digest, loc in manifest["lessons"].items()}


def _index(out: Path) -> dict[str, Location] | None:
    """The lesson index of the build in ``out``, or None when there is no readable format-2 build there."""
    manifest_path = out / "course.json"
    stamp = _stamp(manifest_path)
    if stamp is None:
        return None
    key = os.fspath(out)
    hit = _indexes.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    try:
        manifest = json.loads(manifest_path.read_bytes())
        index = _parse_index(manifest)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    if manifest.get("format") != FORMAT:
        return None
    _indexes[key] = (stamp, index)
    return index


def _encode(lesson: Lesson) -> bytes:
    return json.dumps(lesson.to_dict(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _write_pack(lessons_dir: Path, present: set[str], entries: list[tuple[str, bytes]]) -> dict[str, Location]:
    # Named by the lessons it holds, which are named by their content: a pack of that name is already right.
    name = hashlib.sha256("\n".join(digest for digest, _ in entries).encode()).hexdigest()[:24] + ".pack"
    where: dict[str, Location] = {}
    offset = 0
    for digest, data in entries:
        where[digest] = (name, offset, len(data))
        offset += len(data) + 1
    if name not in present:
        _write_atomic(lessons_dir / name, (chunk for _, data in entries for chunk in (data, b"\n")))
        present.add(name)
    return where


def _read_slices(lessons_dir: Path, wanted: dict[str, Location]) -> dict[str, bytes]:
    by_pack: dict[str, list[tuple[str, int, int]]] = {}
    for digest, (pack, offset, length) in wanted.items():
        by_pack.setdefault(pack, []).append((digest, offset, length))
    found: dict[str, bytes] = {}
    for pack, slices in by_pack.items():
        data = (lessons_dir / pack).read_bytes()
        for digest, offset, length in slices:
            found[digest] = data[offset:offset + length]
    return found


def write_compiled(course: Course, root: Path, out: Path) -> int:
    """Write ``course`` to ``out``; returns how many lessons were written that ``out`` did not have.

    Raises :class:`OSError`, naming the path, when ``out`` cannot take the build; ``out`` is then as it was, but for
    empty folders and a pack no manifest names (the next build uses or removes it)."""
    staged: list[tuple[Path, Path]] = []
    try:
        media = _stage_media(root / "media", out / "media", staged)
        written = _write(course, out, staged)
    except BaseException:
        for tmp, _final in staged:
            tmp.unlink(missing_ok=True)
        raise
    # Only now that course.json is the new one: the old one may name a file the new build no longer has.
    _prune_media(root / "media", out / "media", media)
    return written


def _no_link(folder: Path) -> None:
    """Refuse a link where the build writes a folder of its own (``media``, a folder in it, ``lessons``): files
    written into it would land wherever it leads, outside the output folder. Refused rather than replaced, as a file
    where a folder goes is: replacing it now would change the output before the build is sure to complete. (A link
    where a file goes is replaced, never followed: ``os.replace`` takes the link's place.)"""
    if folder.is_symlink():
        raise OSError(errno.ELOOP, f"it is a link (to {os.readlink(folder)}), and a build writes nothing through a "
                      "link: remove the link", os.fspath(folder))


def _write(course: Course, out: Path, staged: list[tuple[Path, Path]]) -> int:
    lessons_dir = out / "lessons"
    _no_link(lessons_dir)
    lessons_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "course.json"
    if manifest_path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(manifest_path))
    present = set(os.listdir(lessons_dir))
    previous = _index(out) or {}
    where: dict[str, Location] = {}
    new: list[Lesson] = []
    for lesson in course.lessons():
        digest = lesson.source_hash
        loc = previous.get(digest)
        if loc is not None and loc[0] in present:
            where[digest] = loc
        elif digest not in where:
            new.append(lesson)
            where[digest] = ("", 0, 0)
    entries = [(lesson.source_hash, _encode(lesson)) for lesson in new]
    moved = _to_repack(lessons_dir, {d: loc for d, loc in where.items() if loc[0]}, bool(entries))
    if moved:
        entries += sorted(_read_slices(lessons_dir, moved).items())
    if entries:
        where.update(_write_pack(lessons_dir, present, entries))
    manifest = course.manifest()
    manifest["format"] = FORMAT
    manifest["lessons"] = where  # the tuples become JSON arrays
    for tmp, final in staged:
        os.replace(tmp, final)
    # The manifest goes after the packs it names: a reader never sees it point at a lesson not yet written.
    _write_atomic(manifest_path, [json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode("utf-8")])
    stamp = _stamp(manifest_path)
    if stamp is not None:
        _indexes[os.fspath(out)] = (stamp, where)
    live = {loc[0] for loc in where.values()}
    stale = time.time() - STALE_TEMPORARY
    for name in present - live:
        _remove(lessons_dir / name, stale)
    for path in out.glob(".tmp-*"):  # beside course.json: a manifest a killed build did not finish
        _remove(path, stale)
    return len(new)


def _remove(path: Path, stale: float) -> None:
    """Remove a file the build no longer names; a temporary one only once ``stale`` (another build into the same
    folder may be writing it), and one that cannot be removed is left for the next build."""
    try:
        if not path.name.startswith(".tmp-") or path.lstat().st_ctime < stale:
            path.unlink()
    except OSError:
        pass


def _to_repack(lessons_dir: Path, kept: dict[str, Location], adding: bool) -> dict[str, Location]:
    """Lessons to copy from their packs into the new one, to keep the number of packs and the dead space small."""
    live: dict[str, int] = {}
    for pack, _offset, length in kept.values():
        live[pack] = live.get(pack, 0) + length + 1
    if not live:
        return {}
    sizes = {pack: (lessons_dir / pack).stat().st_size for pack in live}
    if sum(sizes.values()) > 2 * sum(live.values()):
        return kept  # more than half of what is on disk is lessons no longer in the course: start afresh
    if len(live) + adding > MAX_PACKS:
        biggest = max(live, key=lambda pack: live[pack])
        return {digest: loc for digest, loc in kept.items() if loc[0] != biggest}
    return {}


def _stage_media(source: Path, target: Path, staged: list[tuple[Path, Path]]) -> set[Path]:
    """Copy each media file that is new or changed to a temporary file beside its place in ``target``, adding
    (temporary, final) to ``staged``; returns every folder and file of the build's media, relative to ``target``.
    A folder that cannot be made, or a full disk, fails here, before anything a reader of the output uses has
    changed."""
    media: set[Path] = set()
    if not source.is_dir():
        return media
    inside = source.resolve()
    for folder, _dirs, files in os.walk(source):
        dest = target / Path(folder).relative_to(source)
        _no_link(dest)  # its parents were looked at first (os.walk is top-down, and enters no link in the source)
        dest.mkdir(parents=True, exist_ok=True)
        media.add(Path(folder).relative_to(source))
        for name in files:
            if Path(name).suffix.lower() not in MEDIA_SUFFIXES:
                continue
            src_file, dst_file = Path(folder) / name, dest / name
            try:
                # Never a link to a file outside the media folder (the output is served), nor one that is broken.
                if not src_file.is_file() or not src_file.resolve().is_relative_to(inside):
                    continue
                src_stat = src_file.stat()
            except OSError:
                continue
            media.add(dst_file.relative_to(target))
            if dst_file.is_symlink():
                pass  # copied again, whatever it leads to, and put in the link's place: never followed
            elif dst_file.is_dir():
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(dst_file))
            elif dst_file.exists():
                dst_stat = dst_file.stat()
                if dst_stat.st_size == src_stat.st_size and dst_stat.st_mtime_ns == src_stat.st_mtime_ns:
                    continue
            fd, tmp = tempfile.mkstemp(dir=dest, prefix=".tmp-")  # no suffix: never served
            os.close(fd)
            staged.append((Path(tmp), dst_file))
            shutil.copy2(src_file, tmp)
    return media


STALE_TEMPORARY = 3600.0
"""Seconds after its last change that a temporary file in the output folder (beside course.json, the packs or
the media) is taken for one a killed build left behind. Another build into the same folder may be writing one
of its own meanwhile: its temporary files change as they are written and are put in place soon after, so an
hour is ample."""


def _prune_media(source: Path, target: Path, media: set[Path]) -> None:
    """Remove from ``target`` what is not in the build's ``media`` (a file removed or renamed in the course, which
    would still be served) and temporary files a killed build left. Links are removed, never followed; a failure
    to remove leaves the file for the next build, as the build itself is already done."""
    try:
        if target.is_symlink() or not target.is_dir():
            return  # the output's media folder is not the build's own: leave what it leads to alone
        real_source, real_target = source.resolve(), target.resolve()
    except OSError:
        return
    if real_source.is_relative_to(real_target) or real_target.is_relative_to(real_source):
        return  # an output folder that is the course's (or holds it): its files are the author's own
    stale = time.time() - STALE_TEMPORARY
    # Bottom up, so that a folder is looked at once what was in it is gone; links to folders are not entered.
    for folder, dirs, files in os.walk(target, topdown=False):
        here = Path(folder).relative_to(target)
        for name in files + [d for d in dirs if (Path(folder) / d).is_symlink()]:
            if here / name not in media:
                _remove(Path(folder) / name, stale)
        if here not in media:
            try:
                Path(folder).rmdir()  # a folder the course no longer has, once it is empty
            except OSError:
                continue


def _decode(data: bytes | str, digest: str) -> Lesson | None:
    lesson = Lesson.from_dict(json.loads(data))
    return lesson if lesson.source_hash == digest else None


def read_lesson(out: Path, digest: str) -> Lesson | None:
    """A lesson from an earlier build, or None when that build did not have it."""
    index = _index(out)
    try:
        if index is None:
            return _read_lesson_v1(out, digest)
        loc = index.get(digest)
        if loc is None:
            return None
        with open(out / "lessons" / loc[0], "rb") as handle:
            handle.seek(loc[1])
            return _decode(handle.read(loc[2]), digest)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read_lesson_v1(out: Path, digest: str) -> Lesson | None:
    data = json.loads((out / "lessons" / f"{digest}.json").read_text(encoding="utf-8"))
    html = (out / "lessons" / f"{digest}.html").read_text(encoding="utf-8")
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
    if manifest.get("format") not in (1, FORMAT):
        raise CompiledCourseError(f"{out}: compiled course format {manifest.get('format')} is not {FORMAT}")
    packs: dict[str, bytes] = {}
    index = _parse_index(manifest)

    def lesson_for(digest: str) -> Lesson | None:
        if manifest["format"] == 1:
            return read_lesson_v1(digest)
        loc = index.get(digest)
        if loc is None:
            return None
        pack, offset, length = loc
        try:
            if pack not in packs:
                packs[pack] = (out / "lessons" / pack).read_bytes()
            return _decode(packs[pack][offset:offset + length], digest)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def read_lesson_v1(digest: str) -> Lesson | None:
        try:
            return _read_lesson_v1(out, digest)
        except (OSError, ValueError):
            return None

    modules = []
    for m in manifest["modules"]:
        lessons = []
        for digest in m["lessons"]:
            lesson = lesson_for(digest)
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
