"""Lesson pages put together from frames (engine/web/learning.py) are the pages lesson.html renders in full.

A frame is rendered once with slots for what differs between learners; these tests walk two learners through
the Innovation Masterclass, answering every kind of block in several ways, and compare each page with the full
render of the same page at the same moment.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from course.model import Checklist, Poll, Question, Reflection, Video
from engine.web import learning
from engine.web.courses import CourseRuntime
from webhelpers import answer, make_app, register

COURSE_DIR = Path(__file__).parent.parent / "content" / "innovation-masterclass"


def full_page(client: TestClient, path: str, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as patch:
        patch.setattr(learning, "overridden", lambda folder: True)  # as for a course with a theme of its own
        response = client.get(path)
    assert response.status_code == 200
    return response.text


def framed_page(client: TestClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.text


def check(client: TestClient, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Viewing twice changes nothing a page shows, so the two renders see the same records.
    framed = framed_page(client, path)
    assert framed == full_page(client, path, monkeypatch), path


def answer_everything(client: TestClient, rt: CourseRuntime, round_: int) -> None:
    for lesson in rt.order:
        path = learning.lesson_url(rt, lesson)
        for block in lesson.blocks:
            if isinstance(block, Question):
                wrong = next(n for n in range(len(block.options)) if n not in block.correct)
                answer(client, path, block.id, choice=[str(wrong if round_ == 0 else block.correct[0])])
            elif isinstance(block, Poll):
                choice = "0" if not block.scale else str(block.scale.low + round_)
                answer(client, path, block.id, choice=[choice])
            elif isinstance(block, Reflection):
                words = " ".join(["Small <b>changes</b> & \"quotes\" 'here'"] * max(1, block.min_words))
                answer(client, path, block.id, text=f"{words} round {round_}")
            elif isinstance(block, Checklist):
                answer(client, path, block.id, ticked=[str(n) for n in range(round_ + 1) if n < len(block.items)])
            elif isinstance(block, Video) and round_:
                answer(client, path, block.id, watched="1")


def test_framed_pages_are_the_full_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client, _store = make_app(COURSE_DIR, tmp_path / "frames.db")
    other, _ = make_app(COURSE_DIR, tmp_path / "frames.db")
    rt: CourseRuntime = client.app.app.state.service.courses["innovation-masterclass"]  # type: ignore[attr-defined]
    register(client, name="Ada <Lovelace> & \"Co\"")
    register(other, email="grace@example.gov.uk", name="Grace Hopper")
    paths = [learning.lesson_url(rt, lesson) for lesson in rt.order]
    for path in paths:  # nothing answered yet: every page, first view and a later one
        check(client, path, monkeypatch)
        check(other, path, monkeypatch)
    # Each of those pages was kept whole, blocks and all, for learners who have answered nothing in it ...
    assert {key[1] for key in rt.pages if key[0] == "untouched"} == {lesson.iri for lesson in rt.order}
    with monkeypatch.context() as patch:  # ... and is put together from that alone
        patch.setattr(learning, "_from_frame", lambda *args, **kwargs: pytest.fail("not from the whole page"))
        for path in paths:
            assert framed_page(other, path) == full_page(other, path, monkeypatch), path
    for round_ in (0, 1):
        answer_everything(client, rt, round_)
        for path in paths:
            check(client, path, monkeypatch)
            check(other, path, monkeypatch)
    assert rt.pages, "the pages were not put together from frames"


def test_a_course_theme_turns_frames_off(tmp_path: Path) -> None:
    from helpers import make_course

    root = make_course(tmp_path / "demo")
    (root / "theme").mkdir()
    (root / "theme" / "lesson.html").write_text('{% extends "default:lesson.html" %}')
    client, _ = make_app(root, tmp_path / "t.db")
    register(client)
    assert client.get("/demo/01-intro/lesson").status_code == 200
    rt: CourseRuntime = client.app.app.state.service.courses["demo"]  # type: ignore[attr-defined]
    assert not rt.pages


def test_attempt_counts_are_slots_not_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """How many attempts are used, and the latest one's number, grow with every try: they fill slots of one frame
    per answer shape, and the page is still the full render at every count."""
    from helpers import COURSE_YAML, make_course
    from test_build import LESSON

    root = make_course(tmp_path / "demo", lesson=LESSON, course_yaml=COURSE_YAML + "max_attempts: 5\n")
    client, _store = make_app(root, tmp_path / "attempts.db")
    other, _ = make_app(root, tmp_path / "attempts.db")
    register(client)
    register(other, email="grace@example.gov.uk", name="Grace Hopper")
    rt: CourseRuntime = client.app.app.state.service.courses["demo"]  # type: ignore[attr-defined]
    path = "/demo/01-intro/lesson"
    block_frames = []
    for attempt in range(1, 5):
        # The same wrong answer each time: only the counts change ("Attempts used: N of 5").
        answer(client, path, "define-small-change", choice=["0"])
        page = framed_page(client, path)
        assert f"Attempts used: {attempt} of 5." in page
        check(client, path, monkeypatch)
        block_frames.append(sum(1 for key in rt.pages if key[0] == "block"))
    answer(other, path, "define-small-change", choice=["0"])
    check(other, path, monkeypatch)
    # One frame for the question answered wrongly, whatever the count; none made after the first try.
    assert block_frames[0] == block_frames[-1]
    assert sum(1 for key in rt.pages if key[0] == "block") == block_frames[-1]


def test_a_checklists_text_after_its_items_is_framed_below_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    """No checklist in the Innovation Masterclass has text after its items: this one does, and its framed page, kept
    whole while nothing is ticked and put together from the block's frames once something is, is the full render,
    with that text below the items."""
    from helpers import make_course
    from test_build import CHECKLIST_LESSON

    client, _store = make_app(make_course(tmp_path / "demo", lesson=CHECKLIST_LESSON), tmp_path / "after.db")
    register(client, name="Ada <Lovelace> & \"Co\"")
    rt: CourseRuntime = client.app.app.state.service.courses["demo"]  # type: ignore[attr-defined]
    path = "/demo/01-intro/lesson"
    for ticked in (None, None, ["1"], ["0", "1"]):  # the first page, the page kept whole, then from block frames
        if ticked is not None:
            answer(client, path, "ready", ticked=ticked)
        check(client, path, monkeypatch)
        page = framed_page(client, path)
        texts = ("Before you start", "Book a meeting", "Tell your manager", "Come back &amp;", "Or ask <em>your</em>",
                 "Save checklist")
        at = [page.index(text) for text in texts]
        assert at == sorted(at)
    assert any(key[0] == "untouched" for key in rt.pages) and any(key[0] == "block" for key in rt.pages)


def test_a_frame_with_others_inlined_fills_as_they_do() -> None:
    from engine.web.templating import Slots

    slots = Slots()
    page = slots.frame(f"<p>{slots('user.name')}</p>{slots('block.0')}<i>{slots('x')}</i>{slots('block.1')}end",
                       dict.fromkeys(["user.name", "block.0", "x", "block.1"]))
    block = slots.frame(f"<b>{slots('csrf_token')} {slots('state.attempts')}</b>",
                        dict.fromkeys(["csrf_token", "state.attempts"]))
    assert page is not None and block is not None
    values = {"user.name": b"Ada &amp; Co", "csrf_token": b"abc", "x": b"\xe2\x80\x93"}
    expected = page.fill({**values, "block.0": block.fill({**values, "state.attempts": b"0"}), "block.1": b"-"})
    whole = page.inlined({"block.0": block.inlined({"state.attempts": b"0"}), "block.1": b"-"})
    assert [name for name, _ in whole.rest] == ["user.name", "csrf_token", "x"]
    assert whole.fill(values) == expected == "<p>Ada &amp; Co</p><b>abc 0</b><i>\u2013</i>-end".encode()
    assert page.inlined({}).fill({**values, "block.0": b"", "block.1": b""}) == page.fill(
        {**values, "block.0": b"", "block.1": b""})
    one = slots.frame(f"a{slots('x')}b", {"x": None})
    none = slots.frame("100% plain", {})
    assert one is not None and none is not None
    assert (one.fill({"x": b"-"}), none.fill({})) == (b"a-b", b"100% plain")
