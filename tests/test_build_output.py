"""The compiled output's packs: what a rebuild writes, keeps and removes, and that it always loads back whole."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from course import Builder, build, load_compiled, output, read_lesson, write_compiled
from course.model import Course
from helpers import make_course
from test_build import LESSON


def _course(tmp_path: Path, lessons: int = 6) -> Path:
    root = make_course(tmp_path / "demo", lesson=LESSON)
    module = root / "modules" / "01-intro"
    for n in range(lessons - 2):
        (module / f"{100 + n}-extra-{n}.md").write_text(f"---\ntitle: Extra {n}\n---\nBody {n}.\n")
    return root


def _edit(root: Path, name: str, text: str) -> None:
    path = root / "modules" / "01-intro" / name
    path.write_text(path.read_text() + f"\n{text}\n")


def _packs(out: Path) -> set[str]:
    return {p.name for p in (out / "lessons").iterdir()}


def _same(a: Course, b: Course) -> None:
    assert [lesson.to_dict() for lesson in a.lessons()] == [lesson.to_dict() for lesson in b.lessons()]
    assert a.manifest() == b.manifest()


def test_block_to_dict_matches_dataclasses_asdict(tmp_path: Path) -> None:
    result = build(make_course(tmp_path, lesson=LESSON))
    assert result.course is not None
    blocks = result.course.lessons()[0].blocks
    assert {b.type for b in blocks} == {"question", "poll", "reflection", "video", "checklist", "callout"}
    for block in blocks:
        assert block.to_dict() == {**dataclasses.asdict(block), "type": block.type}
    for ref in result.course.lessons()[0].references:
        assert ref.to_dict() == dataclasses.asdict(ref)


def test_a_full_build_is_one_pack_and_loads_back_the_same(tmp_path: Path) -> None:
    root = _course(tmp_path)
    result = build(root)
    assert result.course is not None
    out = tmp_path / "out"
    assert write_compiled(result.course, root, out) == 6
    assert len(_packs(out)) == 1 and next(iter(_packs(out))).endswith(".pack")
    _same(load_compiled(out), result.course)
    for lesson in result.course.lessons():
        again = read_lesson(out, lesson.source_hash)
        assert again is not None and again.to_dict() == lesson.to_dict()
    assert read_lesson(out, "0" * 24) is None
    assert write_compiled(result.course, root, out) == 0


def _written(tmp_path: Path) -> tuple[Path, Path, Builder, Course]:
    """A course, its output folder, the Builder that built it and what it wrote there."""
    root = _course(tmp_path)
    out = tmp_path / "out"
    builder = Builder(root)
    first = builder.build()
    assert first.course is not None
    write_compiled(first.course, root, out)
    return root, out, builder, first.course


def test_a_rebuild_writes_only_the_edited_lesson_and_drops_what_is_no_longer_used(tmp_path: Path) -> None:
    root, out, builder, _first = _written(tmp_path)
    [full_pack] = _packs(out)
    for n in range(3):
        _edit(root, "020-other.md", f"Edit {n}.")
        result = builder.build()
        assert result.course is not None
        assert write_compiled(result.course, root, out) == 1
        # The full pack still holds five live lessons; only the latest one-lesson pack is kept beside it.
        assert len(_packs(out)) == 2 and full_pack in _packs(out)
        _same(load_compiled(out), result.course)
        assert f"Edit {n}." in load_compiled(out).lessons()[1].html


def test_too_many_packs_are_merged_and_dead_space_is_reclaimed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    monkeypatch.setattr(output, "MAX_PACKS", 3)
    root = _course(tmp_path, lessons=8)
    out = tmp_path / "out"
    builder = Builder(root)
    names = sorted(p.name for p in (root / "modules" / "01-intro").glob("*.md"))
    result = builder.build()
    assert result.course is not None
    write_compiled(result.course, root, out)
    for n, name in enumerate(names * 2):
        _edit(root, name, f"Edit {n} " + "padding " * 200)
        result = builder.build()
        assert result.course is not None
        assert write_compiled(result.course, root, out) == 1
        assert len(_packs(out)) <= 3
        lessons_bytes = sum(len(json.dumps(lesson.to_dict(), ensure_ascii=False).encode()) + 1
                            for lesson in result.course.lessons())
        on_disk = sum(p.stat().st_size for p in (out / "lessons").iterdir())
        assert on_disk <= 2 * lessons_bytes + 2
        _same(load_compiled(out), result.course)


def test_a_lost_pack_is_written_again(tmp_path: Path) -> None:
    root = _course(tmp_path)
    out = tmp_path / "out"
    result = build(root)
    assert result.course is not None
    write_compiled(result.course, root, out)
    for pack in (out / "lessons").iterdir():
        pack.unlink()
    assert write_compiled(result.course, root, out) == 6
    _same(load_compiled(out), result.course)


def test_format_1_output_still_loads_and_is_replaced_by_the_next_build(tmp_path: Path) -> None:
    root = _course(tmp_path)
    result = build(root)
    assert result.course is not None
    out = tmp_path / "out"
    (out / "lessons").mkdir(parents=True)
    for lesson in result.course.lessons():
        (out / "lessons" / f"{lesson.source_hash}.json").write_text(json.dumps(lesson.to_dict(with_html=False)))
        (out / "lessons" / f"{lesson.source_hash}.html").write_text(lesson.html)
    (out / "course.json").write_text(json.dumps(result.course.manifest()))
    _same(load_compiled(out), result.course)
    first = result.course.lessons()[0]
    from_v1 = read_lesson(out, first.source_hash)
    assert from_v1 is not None and from_v1.to_dict() == first.to_dict()

    # The CLI's way: unchanged lessons come from the old output, which is then replaced by packs.
    builder = Builder(root, lesson_store=lambda digest: read_lesson(out, digest))
    again = builder.build()
    assert again.course is not None and again.parsed == 0
    write_compiled(again.course, root, out)
    assert all(name.endswith(".pack") for name in _packs(out))
    _same(load_compiled(out), result.course)


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_a_build_that_cannot_write_its_media_leaves_the_previous_output_as_it_was(tmp_path: Path) -> None:
    root, out, builder, first = _written(tmp_path)
    (out / "media" / "gone.png").write_bytes(b"no longer in the course, but a build that fails removes nothing")
    before = _files(out)
    # The next build has a new lesson version, a changed picture and a new media folder, where the output has a
    # file: the picture would be copied, and the pack written, before the folder failed.
    _edit(root, "020-other.md", "Edited.")
    (root / "media" / "pic.png").write_bytes(b"a new picture")
    (root / "media" / "charts").mkdir()
    (root / "media" / "charts" / "a.png").write_bytes(b"\0")
    (out / "media" / "charts").write_text("a file where a folder goes")
    before["media/charts"] = b"a file where a folder goes"
    result = builder.build()
    assert result.course is not None
    with pytest.raises(OSError) as failed:
        write_compiled(result.course, root, out)
    assert failed.value.filename is not None and "charts" in str(failed.value.filename)
    assert _files(out) == before  # no new pack, no half-copied media, no temporary file
    _same(load_compiled(out), first)


def test_a_first_build_that_cannot_write_its_media_writes_nothing(tmp_path: Path) -> None:
    root = _course(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "media").write_text("a file where the media folder goes")
    result = build(root)
    assert result.course is not None
    with pytest.raises(OSError):
        write_compiled(result.course, root, out)
    assert _files(out) == {"media": b"a file where the media folder goes"}


@pytest.mark.parametrize("link", ["media", "media/charts", "lessons"])
def test_a_build_never_writes_through_a_linked_folder_in_the_output(tmp_path: Path, link: str) -> None:
    root, out, builder, first = _written(tmp_path)
    _edit(root, "020-other.md", "Edited.")  # a new pack to write
    (root / "media" / "pic.png").write_bytes(b"a new picture")  # a media file to copy
    (root / "media" / "charts").mkdir()
    (root / "media" / "charts" / "a.png").write_bytes(b"\0")
    elsewhere = tmp_path / "elsewhere"
    if (out / link).exists():
        (out / link).rename(elsewhere)  # what the output had there is now where the link leads
    else:
        elsewhere.mkdir()
    (out / link).symlink_to(elsewhere, target_is_directory=True)
    outside = {p.relative_to(elsewhere).as_posix(): p.read_bytes() for p in elsewhere.rglob("*") if p.is_file()}
    before = _files(out)
    result = builder.build()
    assert result.course is not None
    with pytest.raises(OSError) as failed:
        write_compiled(result.course, root, out)
    assert failed.value.filename == str(out / link)
    assert failed.value.strerror == (f"it is a link (to {elsewhere}), and a build writes nothing through a link: "
                                     "remove the link")
    # Nothing written where the link leads (no picture, no pack, no temporary file), nor in the output.
    assert {p.relative_to(elsewhere).as_posix(): p.read_bytes() for p in elsewhere.rglob("*") if p.is_file()} == outside
    assert _files(out) == before and (out / link).is_symlink()
    _same(load_compiled(out), first)


def test_a_link_where_a_media_file_goes_is_replaced_by_the_file_never_followed(tmp_path: Path) -> None:
    root, out, builder, _first = _written(tmp_path)
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"\1")  # as big as the course's picture, and as old: it looks unchanged
    os.utime(outside, ns=((root / "media" / "pic.png").stat().st_atime_ns,
                          (root / "media" / "pic.png").stat().st_mtime_ns))
    (out / "media" / "pic.png").unlink()
    (out / "media" / "pic.png").symlink_to(outside)
    (root / "media" / "clip.vtt").write_bytes(b"WEBVTT\n\nchanged")
    (out / "media" / "clip.vtt").unlink()
    (out / "media" / "clip.vtt").symlink_to(outside)
    result = builder.build()
    assert result.course is not None
    write_compiled(result.course, root, out)
    for name in ("pic.png", "clip.vtt"):
        assert not (out / "media" / name).is_symlink()
        assert (out / "media" / name).read_bytes() == (root / "media" / name).read_bytes()
    assert outside.read_bytes() == b"\1"


def _media(out: Path) -> set[str]:
    return {p.relative_to(out / "media").as_posix() for p in (out / "media").rglob("*")}


def test_media_gone_from_the_course_are_removed_from_the_output_and_unchanged_ones_are_not_copied_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _course(tmp_path)
    for name in ("old.png", "charts/a.png", "charts/b.png"):
        (root / "media" / name).parent.mkdir(exist_ok=True)
        (root / "media" / name).write_bytes(name.encode())
    out = tmp_path / "out"
    builder = Builder(root)
    result = builder.build()
    assert result.course is not None
    write_compiled(result.course, root, out)
    assert _media(out) == {"pic.png", "clip.mp4", "clip.vtt", "old.png", "charts", "charts/a.png", "charts/b.png"}
    kept = (out / "media" / "pic.png").stat()

    (root / "media" / "old.png").unlink()
    (root / "media" / "charts").rename(root / "media" / "graphs")
    (root / "media" / "make-video.py").write_text("the author's own")  # never copied, so never kept either
    (out / "media" / "make-video.py").write_text("put there by hand")
    (out / "media" / ".tmp-killed").write_bytes(b"half a video")  # what a killed build leaves
    # Links in the output are removed, never followed: what they lead to, outside the output, stays.
    (tmp_path / "outside.png").write_bytes(b"not the build's")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.png").write_bytes(b"not the build's")
    (out / "media" / "link.png").symlink_to(tmp_path / "outside.png")
    (out / "media" / "folder").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    result = builder.build()
    assert result.course is not None
    write_compiled(result.course, root, out)
    # The temporary file has only just changed: it may be another build's, still being copied.
    assert _media(out) == {"pic.png", "clip.mp4", "clip.vtt", "graphs", "graphs/a.png", "graphs/b.png",
                           ".tmp-killed"}
    assert (tmp_path / "outside.png").exists() and (tmp_path / "elsewhere" / "x.png").exists()
    again = (out / "media" / "pic.png").stat()
    assert (again.st_ino, again.st_mtime_ns) == (kept.st_ino, kept.st_mtime_ns)  # not copied again

    monkeypatch.setattr(output, "STALE_TEMPORARY", -3600.0)  # as if an hour had gone by
    write_compiled(result.course, root, out)
    assert _media(out) == {"pic.png", "clip.mp4", "clip.vtt", "graphs", "graphs/a.png", "graphs/b.png"}
    _same(load_compiled(out), result.course)


def test_media_gone_from_the_course_stay_until_the_new_course_json_is_in_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, out, builder, _first = _written(tmp_path)
    (out / "media" / "gone.png").write_bytes(b"named by the previous build")
    write_atomic = output._write_atomic
    seen: list[bool] = []

    def write_and_look(path: Path, chunks: Iterable[bytes]) -> None:
        if path.name == "course.json":
            seen.append((out / "media" / "gone.png").exists())
        write_atomic(path, chunks)

    monkeypatch.setattr(output, "_write_atomic", write_and_look)
    result = builder.build()
    assert result.course is not None
    write_compiled(result.course, root, out)
    assert seen == [True] and not (out / "media" / "gone.png").exists()


def test_an_output_folder_that_is_the_course_folder_keeps_the_authors_files(tmp_path: Path) -> None:
    root = _course(tmp_path)
    (root / "media" / "make-video.py").write_text("the author's own")
    result = build(root)
    assert result.course is not None
    write_compiled(result.course, root, root)
    assert (root / "media" / "make-video.py").exists()


def test_temporary_files_a_killed_build_left_beside_the_packs_and_course_json_go_once_stale(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, out, _builder, first = _written(tmp_path)
    (out / "lessons" / ".tmp-pack").write_bytes(b"half a pack")
    (out / ".tmp-manifest").write_bytes(b"half a course.json")
    write_compiled(first, root, out)
    # Only just changed: another build into the same folder may be writing them.
    assert (out / "lessons" / ".tmp-pack").exists() and (out / ".tmp-manifest").exists()
    monkeypatch.setattr(output, "STALE_TEMPORARY", -3600.0)  # as if an hour had gone by
    write_compiled(first, root, out)
    assert not (out / "lessons" / ".tmp-pack").exists() and not (out / ".tmp-manifest").exists()
    _same(load_compiled(out), first)
