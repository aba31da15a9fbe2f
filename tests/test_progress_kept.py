"""Progress worked out from kept records, lesson by lesson, equals progress worked out afresh after every change."""

from __future__ import annotations

import gc
import random
from pathlib import Path

import pytest

from course import Course, build
from course.model import Checklist, Poll, Question, Reflection
from engine import progress
from engine.storage.db import Store
from engine.storage.records import Records

COURSE_DIR = Path(__file__).parent.parent / "content" / "innovation-masterclass"


def _summary(course: Course, records: Records) -> tuple[object, ...]:
    state = progress.evaluate(course, records)
    return (state.completed, state.percent, state.modules_complete, sorted(state.new_completions),
            [(mp.module.iri, mp.status, mp.score, [(lp.lesson.iri, lp.status, lp.score) for lp in mp.lessons])
             for mp in state.modules])


@pytest.mark.parametrize("shared_max", [progress.SHARED_MAX, 5])
def test_kept_progress_equals_a_fresh_evaluation_after_every_change(tmp_path: Path, shared_max: int,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # With a table of 5, the shared objects are forgotten again and again while records still hold them.
    monkeypatch.setattr(progress, "SHARED_MAX", shared_max)
    result = build(COURSE_DIR)
    course = result.course
    assert course is not None
    store = Store(tmp_path / "t.db")
    user = store.create_user(name="Ada", email="ada@example.gov.uk", department="Cabinet Office", password_hash="x")
    enrolment, _ = store.enrol(user.id, course.iri)
    rng = random.Random(3)
    lessons = [lesson for module in course.modules for lesson in module.lessons]
    kept = store.records(enrolment.id)
    for step in range(300):
        lesson = rng.choice(lessons)
        blocks = [b for b in lesson.blocks if isinstance(b, Question | Poll | Reflection | Checklist)]
        with store.transaction():
            if not blocks or rng.random() < 0.3:
                store.record_view(enrolment.id, lesson.iri)
            else:
                block = rng.choice(blocks)
                if isinstance(block, Question):
                    right = rng.random() < 0.6
                    store.add_attempt(enrolment.id, block_iri=block.iri, lesson_iri=lesson.iri, response=[0],
                                      score=1.0 if right else rng.choice([0.0, 0.5]), success=right,
                                      max_attempts=None)
                else:
                    store.set_response(enrolment.id, block_iri=block.iri, lesson_iri=lesson.iri,
                                       kind=block.type, value=["1"])
            # Record what progress says is newly complete, as the runtime does.
            for kind, iri, score in progress.evaluate(course, store.records(enrolment.id)).new_completions:
                store.add_completion(enrolment.id, iri, kind, score)
        assert store.records(enrolment.id) is kept  # changed in place, with what was worked out per lesson
        assert _summary(course, kept) == _summary(course, store._read_records(enrolment.id)), f"step {step}"
    assert progress.evaluate(course, kept).percent > 0


def _answer_everything(store: Store, course: Course, enrolment_id: int, right: bool) -> None:
    with store.transaction():
        for lesson in course.lessons():
            store.record_view(enrolment_id, lesson.iri)
            for block in lesson.blocks:
                if isinstance(block, Question):
                    store.add_attempt(enrolment_id, block_iri=block.iri, lesson_iri=lesson.iri, response=[0, 1],
                                      score=1.0 if right else 0.0, success=right, max_attempts=None)
            for kind, iri, score in progress.evaluate(course, store.records(enrolment_id)).new_completions:
                store.add_completion(enrolment_id, iri, kind, score)


def _tracked_of_its_own(records: Records, shared: set[int]) -> int:
    """Objects the garbage collector tracks that only these records hold: not the course, not shared progress."""
    seen: set[int] = set()
    stack: list[object] = [records]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or id(obj) in shared or not gc.is_tracked(obj) or isinstance(obj, type):
            continue  # an instance refers to its class too
        seen.add(id(obj))
        stack.extend(gc.get_referents(obj))
    return len(seen)


def test_learners_with_the_same_progress_share_it_and_kept_records_hold_few_objects_of_their_own(
        tmp_path: Path) -> None:
    # The store keeps records for thousands of learners, and a full collection walks every object they hold with
    # the event loop stopped (decision 0022): what two learners' progress has in common is one object.
    course = build(COURSE_DIR).course
    assert course is not None
    store = Store(tmp_path / "t.db")
    kept = []
    for n, right in enumerate((True, True, False)):
        user = store.create_user(name=f"L{n}", email=f"l{n}@example.gov.uk", department="Cabinet Office",
                                 password_hash="x")
        enrolment, _ = store.enrol(user.id, course.iri)
        _answer_everything(store, course, enrolment.id, right)
        kept.append(store.records(enrolment.id))
    first, second, third = (progress.evaluate(course, records) for records in kept)
    assert first.percent == second.percent
    assert all(a is b for a, b in zip(first.modules, second.modules, strict=True))
    lessons = course.lessons()
    assert all(first.lesson(lesson) is second.lesson(lesson) for lesson in lessons)
    assert any(first.lesson(lesson) is not third.lesson(lesson) for lesson in lessons)  # scores differ
    assert first.module_of(lessons[-1]).lessons[-1] is first.lesson(lessons[-1])

    questions = sum(isinstance(block, Question) for lesson in lessons for block in lesson.blocks)
    assert questions > 20
    shared = {id(obj) for obj in progress._layout(course).shared.values()} | {id(course)}
    shared |= {id(obj) for module in course.modules for obj in (module, *module.lessons)}
    # The collector stops tracking a tuple of text and numbers when it looks at it and finds nothing it tracks
    # inside: an attempt's tuple, once the tuple of options chosen inside it is untracked.
    gc.collect()
    gc.collect()
    own = _tracked_of_its_own(kept[0], shared)
    # The records, their dictionaries and sets and the kept progress. Each question's latest attempt is a tuple of
    # text and numbers, which the collector stops tracking. Before decision 0022 a learner's records held about
    # 170 objects here: four per lesson and two per question.
    assert own <= 15, own
    question = next(q for lesson in lessons for q in lesson.graded)
    assert kept[0].latest[question.iri].response == (0, 1)
    assert not gc.is_tracked(dict.__getitem__(kept[0].latest, question.iri))


def test_an_old_compile_of_a_course_is_let_go_with_its_shared_progress(tmp_path: Path) -> None:
    # The preview compiles its course again at every edit: the layouts and shared progress of old compiles must not
    # pile up (at most MAX_LAYOUTS courses are kept).
    import weakref

    store = Store(tmp_path / "t.db")
    user = store.create_user(name="Ada", email="ada@example.gov.uk", department="Cabinet Office", password_hash="x")
    first = build(COURSE_DIR).course
    assert first is not None
    enrolment, _ = store.enrol(user.id, first.iri)
    _answer_everything(store, first, enrolment.id, True)
    assert progress._layout(first).shared
    gone = weakref.ref(first)
    store._forget_records()
    del first
    for _ in range(progress.MAX_LAYOUTS):
        again = build(COURSE_DIR).course
        assert again is not None
        progress.evaluate(again, store.records(enrolment.id))
        store._forget_records()
    gc.collect()
    assert gone() is None
