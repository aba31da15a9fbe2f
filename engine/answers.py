"""What a learner submits to a block: validated, graded on the server, recorded in one transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from course import Lesson
from course.model import Block, Checklist, Poll, Question, Reflection, Video

from . import events
from .storage.db import AttemptsExhausted

MAX_REFLECTION_CHARS = 10_000


class BadSubmission(Exception):
    """A submission no honest form can produce: a forged field, an index out of range."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Outcome:
    error: str | None = None
    """A message for the learner, shown next to the field; nothing was recorded."""
    typed: Any = None
    """What the learner typed or chose, to show again with the error."""

    @property
    def ok(self) -> bool:
        return self.error is None


def _indices(values: list[str], count: int) -> list[int]:
    chosen: set[int] = set()
    for value in values:
        if not re.fullmatch(r"[0-9]{1,3}", value) or int(value) >= count:
            raise BadSubmission(f'"{value[:20]}" is not one of the choices')
        chosen.add(int(value))
    return sorted(chosen)


def poll_values(block: Poll) -> list[str]:
    if block.scale:
        return [str(v) for v in range(block.scale.low, block.scale.high + 1)]
    return [str(i) for i in range(len(block.options))]


def grade(block: Question, chosen: list[int]) -> tuple[float, bool]:
    success = chosen == block.correct
    return (1.0 if success else 0.0), success


def submit(learner: events.Learner, *, lesson: Lesson, block: Block, form: dict[str, list[str]]) -> Outcome:
    """Validate and record one submission, its statements, and any completion it brings, atomically."""
    store, course, enrolment = learner.store, learner.course, learner.enrolment
    attempt: tuple[float, bool] | None = None
    value: Any = None
    if isinstance(block, Question):
        if len(form.get("choice", [])) > 1 and not block.multiple:
            raise BadSubmission("a single-choice question takes one answer")
        chosen = _indices(form.get("choice", []), len(block.options))
        if not chosen:
            return Outcome("Select one or more answers" if block.multiple else "Select an answer")
        score, success = grade(block, chosen)
        attempt = (score, success)
        limit = block.max_attempts or course.max_attempts
        value = chosen

        def record() -> None:
            store.add_attempt(enrolment.id, block_iri=block.iri, lesson_iri=lesson.iri, response=chosen,
                              score=score, success=success, max_attempts=limit)
    elif isinstance(block, Poll):
        allowed = poll_values(block)
        values = form.get("choice", [])
        if len(values) > 1 and not block.multiple:
            raise BadSubmission("this poll takes one answer")
        for given in values:
            if given not in allowed:
                raise BadSubmission(f'"{given[:20]}" is not one of the choices')
        if not values:
            return Outcome("Select one or more answers" if block.multiple else "Select an answer")
        value = sorted(set(values), key=allowed.index) if block.multiple else values[0]

        def record() -> None:
            store.set_response(enrolment.id, block_iri=block.iri, lesson_iri=lesson.iri, kind="poll", value=value)
    elif isinstance(block, Reflection):
        text = "\n".join(form.get("text", [])).replace("\r\n", "\n").strip()
        words = len(text.split())
        if not text:
            return Outcome("Write your reflection", text)
        if len(text) > MAX_REFLECTION_CHARS:
            return Outcome(f"Your reflection must be {MAX_REFLECTION_CHARS:,} characters or fewer", text)
        if words < block.min_words:
            return Outcome(f"Write at least {block.min_words} words (you wrote {words})", text)
        value = text

        def record() -> None:
            store.set_response(enrolment.id, block_iri=block.iri, lesson_iri=lesson.iri, kind="reflection",
                               value=text)
    elif isinstance(block, Checklist):
        ticked = _indices(form.get("ticked", []), len(block.items))
        value = ticked

        def record() -> None:
            store.set_response(enrolment.id, block_iri=block.iri, lesson_iri=lesson.iri, kind="checklist",
                               value=ticked)
    elif isinstance(block, Video):
        if form.get("watched") != ["1"]:
            raise BadSubmission("a video takes watched=1")
        value = "watched"

        def record() -> None:
            store.set_response(enrolment.id, block_iri=block.iri, lesson_iri=lesson.iri, kind="video",
                               value="watched")
    else:
        raise BadSubmission("this block takes no answers")

    try:
        with store.transaction():
            store.record_view(enrolment.id, lesson.iri)
            record()
            statements = [events.block_statement(learner, lesson, block, value, attempt)]
            if attempt is not None:
                module = course.module(lesson.module)
                failed = events.lesson_failed(learner, lesson, store.records(enrolment.id),
                                              module.mastery_score if module else course.mastery_score)
                if failed:
                    statements.append(failed)
            statements += events.completions(learner)
            learner.emitter.save(store, statements)
    except AttemptsExhausted:
        return Outcome("You have used all your attempts at this question")
    return Outcome()
