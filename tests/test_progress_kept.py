"""Progress worked out from kept records, lesson by lesson, equals progress worked out afresh after every change."""

from __future__ import annotations

import random
from pathlib import Path

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


def test_kept_progress_equals_a_fresh_evaluation_after_every_change(tmp_path: Path) -> None:
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
