"""A warm Builder's shortcuts (cached folder listings, references re-checked only where an edit reaches)
must find exactly what a fresh build finds."""

from __future__ import annotations

import importlib
import os
import random
import time
from pathlib import Path

import pytest

from course import Builder, build
from course.diagnostics import Diagnostic
from helpers import make_course

build_module = importlib.import_module("course.build")  # the package's `build` attribute is the function

MODULE = "modules/01-intro"
_clock = [time.time_ns() - 3_600_000_000_000]


def _age(path: Path) -> None:
    """Give a file or folder a distinct mtime old enough for the Builder to trust its cached listing."""
    _clock[0] += 1_000_000_000
    os.utime(path, ns=(_clock[0], _clock[0]))


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.write_text(text, encoding="utf-8")
    _age(path)


def _fresh(root: Path) -> list[Diagnostic]:
    return build(root).diagnostics


def _lesson(n: int, text: str = "") -> str:
    return f"---\ntitle: Lesson {n}\n---\n{text}\n"


def _block(block_id: str) -> str:
    return f"::: reflection id={block_id}\nWhy?\n:::\n"


def test_a_broken_link_from_an_edit_is_found_and_a_fixed_one_disappears(tmp_path: Path) -> None:
    root = make_course(tmp_path)
    builder = Builder(root)
    assert builder.build().ok
    _write(root, f"{MODULE}/010-lesson.md", _lesson(1, "See [that](030-missing.md)."))
    result = builder.build(changed=[root / MODULE / "010-lesson.md"])
    assert [d.message for d in result.errors] == ['broken link: no lesson at "modules/01-intro/030-missing.md"']
    _write(root, f"{MODULE}/010-lesson.md", _lesson(1, "See [that](020-other.md)."))
    assert builder.build().ok


def test_a_duplicate_id_is_reported_on_the_later_lesson_and_goes_when_either_changes(tmp_path: Path) -> None:
    root = make_course(tmp_path, lesson=_lesson(1, _block("same")))
    builder = Builder(root)
    assert builder.build().ok
    _write(root, f"{MODULE}/020-other.md", _lesson(2, _block("same")))
    [error] = builder.build().errors
    assert (error.path, error.message) == (f"{MODULE}/020-other.md",
                                           f'duplicate block id "same": already used at {MODULE}/010-lesson.md:4')
    # Moving the first use down a line changes the message on the other, unedited, lesson.
    _write(root, f"{MODULE}/010-lesson.md", _lesson(1, "\n" + _block("same")))
    assert [d.message for d in builder.build().errors] == [
        f'duplicate block id "same": already used at {MODULE}/010-lesson.md:5']
    _write(root, f"{MODULE}/010-lesson.md", _lesson(1, _block("renamed")))
    assert builder.build().ok


def test_a_duplicate_of_an_id_whose_block_has_a_mistake_is_reported_with_the_mistake(tmp_path: Path) -> None:
    root = make_course(tmp_path, lesson=_lesson(1, "::: reflection id=same min_words=x\nWhy?\n:::\n"))
    _write(root, f"{MODULE}/020-other.md", _lesson(2, _block("same")))
    assert [d.format() for d in Builder(root).build().errors] == [
        f'{MODULE}/010-lesson.md:4:24: error: min_words= must be a whole number; got "x"',
        f'{MODULE}/020-other.md:4:16: error: duplicate block id "same": already used at {MODULE}/010-lesson.md:4']


def test_a_media_file_deleted_or_added_is_noticed_without_any_lesson_changing(tmp_path: Path) -> None:
    root = make_course(tmp_path, lesson=_lesson(1, "![A chart](../../media/pic.png)"))
    builder = Builder(root)
    assert builder.build().ok
    (root / "media" / "pic.png").unlink()
    assert [d.message for d in builder.build().errors] == ['missing media file "media/pic.png"']
    (root / "media" / "pic.png").write_bytes(b"\0")
    assert builder.build().ok


def test_adding_and_deleting_lesson_files_is_noticed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_course(tmp_path, lesson=_lesson(1, "See [the next](030-next.md)."))
    module = root / MODULE
    _age(module)
    builder = Builder(root)
    assert [d.message for d in builder.build().errors] == [f'broken link: no lesson at "{MODULE}/030-next.md"']
    listed: list[str] = []
    real = build_module._lesson_files
    monkeypatch.setattr(build_module, "_lesson_files", lambda r, m, d: listed.append(m) or real(r, m, d))
    assert not builder.build().ok and listed == []  # an old, unchanged folder is not listed again

    (module / "030-next.md").write_text(_lesson(3))
    result = builder.build()
    assert result.ok and result.course is not None and len(result.course.lessons()) == 3 and listed == ["01-intro"]
    _age(module)
    (module / "030-next.md").unlink()
    result = builder.build()
    assert result.course is not None and len(result.course.lessons()) == 2
    assert [d.message for d in result.errors] == [f'broken link: no lesson at "{MODULE}/030-next.md"']
    _age(module)
    (module / "040-Bad Name.md").write_text(_lesson(4))
    _age(module)
    assert [d.severity for d in builder.build().diagnostics] == ["error", "warning"]
    assert [d.severity for d in builder.build().diagnostics] == ["error", "warning"]  # kept with the listing


def test_a_folder_changed_just_now_is_listed_on_every_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    root = make_course(tmp_path)
    builder = Builder(root)
    builder.build()
    listed: list[str] = []
    real = build_module._lesson_files
    monkeypatch.setattr(build_module, "_lesson_files", lambda r, m, d: listed.append(m) or real(r, m, d))
    now = time.time_ns()
    os.utime(root / MODULE, ns=(now, now))
    builder.build()
    builder.build()
    assert listed == ["01-intro", "01-intro"]


def test_random_edits_find_what_a_fresh_build_finds(tmp_path: Path) -> None:
    rng = random.Random(7)
    root = make_course(tmp_path)
    module = root / MODULE
    for name in ("010-lesson.md", "020-other.md"):
        (module / name).unlink()
    names = [f"{n:03d}-l{n}.md" for n in range(10, 90, 10)]
    ids = ["a", "b", "c", "d"]
    media = ["pic.png", "clip.mp4", "gone.png"]

    def text(n: int) -> str:
        parts = []
        for _ in range(rng.randint(0, 3)):
            parts.append(_block(rng.choice(ids)))
        for _ in range(rng.randint(0, 2)):
            parts.append(f"See [there]({rng.choice(names)}) and ![x](../../media/{rng.choice(media)}).\n")
        return _lesson(n, "\n".join(parts))

    for n, name in enumerate(names[:5]):
        _write(root, f"{MODULE}/{name}", text(n))
    _age(module)
    builder = Builder(root)
    kinds: set[str] = set()
    for step in range(60):
        existing = sorted(p.name for p in module.glob("*.md"))
        action = rng.random()
        changed: list[Path] = []
        if action < 0.6 and existing:
            name = rng.choice(existing)
            _write(root, f"{MODULE}/{name}", text(step))
            changed.append(module / name)
        elif action < 0.75 and len(existing) > 1:
            name = rng.choice(existing)
            (module / name).unlink()
            _age(module)
            changed.append(module / name)
        elif action < 0.9:
            name = rng.choice(names)
            _write(root, f"{MODULE}/{name}", text(step))
            _age(module)
            changed.append(module / name)
        else:
            target = root / "media" / rng.choice(media)
            if target.exists():
                target.unlink()
            else:
                target.write_bytes(b"\0")
            changed.append(target)
        result = builder.build(changed=changed) if rng.random() < 0.5 else builder.build()
        assert result.diagnostics == _fresh(root), f"step {step}"
        kinds.update(d.message.split(" \"")[0] for d in result.diagnostics)
    # The walk did meet each kind of problem the reference check reports.
    assert {"duplicate block id", "broken link: no lesson at", "missing media file"} <= kinds
