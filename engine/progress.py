"""Progress and completion, computed from recorded events against the compiled course.

Because it is computed, content edits are handled: a block id that no longer
exists no longer counts. Completions once reached are recorded and stay, so a
new required block reopens nothing a learner already completed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from course import Course, Lesson, Module
from course.model import Poll, Question

from .storage.records import PER_LESSON, Records

Status = Literal["not_started", "in_progress", "completed", "locked"]


# Slots: a store keeps these for thousands of learners, and the garbage collector walks every one of them
# (without slots, each brings a dict of its own to walk).
@dataclass(slots=True)
class LessonProgress:
    lesson: Lesson
    status: Status
    score: float | None
    """Mean of the lesson's question scores (unanswered counts 0); None without questions."""


@dataclass(slots=True)
class ModuleProgress:
    module: Module
    status: Status
    lessons: list[LessonProgress]
    score: float | None


@dataclass
class CourseProgress:
    course: Course
    modules: list[ModuleProgress]
    completed: bool
    percent: int
    modules_complete: bool = False
    """Whether every module the course's completion needs is complete (the capstone aside)."""
    last_lesson_iri: str | None = None
    index: dict[int, tuple[ModuleProgress, LessonProgress]] = field(default_factory=dict)
    """Each lesson's module and lesson progress, by the lesson's id()."""
    new_completions: list[tuple[str, str, float | None]] = field(default_factory=list)
    """(kind, IRI, score) for completions reached now and not yet recorded."""

    @cached_property
    def next_lesson(self) -> Lesson | None:
        """Where "Continue" goes: worked out when asked, since a lesson page never asks."""
        return _next_lesson(self.modules, self.last_lesson_iri)

    def lesson(self, lesson: Lesson) -> LessonProgress:
        return self._where(lesson)[1]

    def module_of(self, lesson: Lesson) -> ModuleProgress:
        return self._where(lesson)[0]

    def _where(self, lesson: Lesson) -> tuple[ModuleProgress, LessonProgress]:
        found = self.index.get(id(lesson))
        if found is None or found[1].lesson is not lesson:
            raise KeyError(f"{lesson.iri} is not a lesson of {self.course.iri}")
        return found


def question_score(lesson_questions: list[Question], records: Records) -> float | None:
    if not lesson_questions:
        return None
    return sum(records.latest[q.iri].score if q.iri in records.latest else 0.0
               for q in lesson_questions) / len(lesson_questions)


def _answered(block: Question | Poll, records: Records) -> bool:
    return block.iri in (records.latest if isinstance(block, Question) else records.responses)


def lesson_progress(lesson: Lesson, records: Records, mastery: float) -> LessonProgress:
    questions = lesson.graded
    if lesson.iri not in records.views and lesson.iri not in records.completions and lesson.iri not in records.touched:
        # Most lessons of a long course are untouched: say so without looking at each block.
        return LessonProgress(lesson, "not_started", 0.0 if questions else None)
    score = question_score(questions, records)
    if lesson.iri in records.completions:
        return LessonProgress(lesson, "completed", score)
    viewed = lesson.iri in records.views
    answerable = [b for b in lesson.blocks if isinstance(b, Question | Poll)]
    if lesson.complete_when == "viewed":
        done = viewed
    elif lesson.complete_when == "answered":
        done = viewed and all(_answered(b, records) for b in answerable)
    else:
        done = viewed and all(_answered(q, records) for q in questions) and (score or 0.0) >= mastery
    started = viewed or any(b.iri in records.responses or b.iri in records.latest for b in lesson.blocks)
    return LessonProgress(lesson, "completed" if done else "in_progress" if started else "not_started", score)


def evaluate(course: Course, records: Records, last_lesson_iri: str | None = None, *,
             capstone_done: bool = False) -> CourseProgress:
    """The learner's progress. ``capstone_done`` says whether their team completed the capstone, which
    the course needs too when its completion rule says ``capstone: true``."""
    worked = _modules(course, records)
    new = list(worked.new)
    modules_complete = set(course.completion_modules) <= worked.complete
    completed = course.iri in records.completions or (
        modules_complete and (capstone_done or not course.completion_capstone))
    if completed and course.iri not in records.completions:
        new.append(("course", course.iri, None))
    return CourseProgress(
        course=course,
        modules=worked.modules,
        completed=completed,
        percent=worked.percent,
        modules_complete=modules_complete,
        last_lesson_iri=last_lesson_iri,
        index=worked.index,
        new_completions=new,
    )


@dataclass(slots=True)
class _Modules:
    """What ``evaluate`` works out from the records alone, kept with them (``Records.derived``): a lesson view
    evaluates the same records for its completions and again for the page."""

    modules: list[ModuleProgress]
    new: list[tuple[str, str, float | None]]
    """Lesson and module completions not yet recorded."""
    complete: set[str]
    """Ids of the completed modules."""
    percent: int
    """Of the course's lessons, completed."""
    index: dict[int, tuple[ModuleProgress, LessonProgress]]
    """Where each lesson is, by the lesson's id()."""


def _modules(course: Course, records: Records) -> _Modules:
    kept = records.derived.get("progress")
    if kept is not None and kept[0] is course:
        return kept[1]  # type: ignore[no-any-return]
    modules: list[ModuleProgress] = []
    new: list[tuple[str, str, float | None]] = []
    complete_modules: set[str] = set()
    per_lesson = _per_lesson(course, records)
    for module in course.modules:
        lessons = []
        for lesson in module.lessons:
            lp = per_lesson.get(lesson.iri)
            if lp is None or lp.lesson is not lesson:
                lp = per_lesson[lesson.iri] = lesson_progress(lesson, records, module.mastery_score)
            lessons.append(lp)
        for lp in lessons:
            if lp.status == "completed" and lp.lesson.iri not in records.completions:
                new.append(("lesson", lp.lesson.iri, lp.score))
        score = _module_score(module, lessons, records, per_lesson)
        if module.iri in records.completions:
            status: Status = "completed"
        elif all(lp.status == "completed" for lp in lessons) and (
            module.complete_when == "all_lessons" or (score or 0.0) >= module.mastery_score
        ):
            status = "completed"
            new.append(("module", module.iri, score))
        elif any(lp.status != "not_started" for lp in lessons):
            status = "in_progress"
        else:
            status = "not_started"
        modules.append(ModuleProgress(module, status, lessons, score))
        if status == "completed":
            complete_modules.add(module.id)
    for mp in modules:
        if mp.status == "not_started" and not set(mp.module.requires) <= complete_modules:
            mp.status = "locked"
    index = {id(lp.lesson): (mp, lp) for mp in modules for lp in mp.lessons}
    done = sum(lp.status == "completed" for _mp, lp in index.values())
    result = _Modules(modules, new, complete_modules, round(100 * done / len(index)) if index else 0, index)
    records.derived["progress"] = (course, result)
    return result


def _per_lesson(course: Course, records: Records) -> dict[Any, Any]:
    """What was worked out for each lesson alone, kept with the records until that lesson's records change
    (``Records.changed``): an answer re-evaluates its own lesson, not the whole course."""
    kept = records.derived.get(PER_LESSON)
    if kept is None or kept[0] is not course:
        kept = records.derived[PER_LESSON] = (course, {})
    return kept[1]


def _module_score(module: Module, lessons: list[LessonProgress], records: Records, per_lesson: dict[Any, Any]
                  ) -> float | None:
    """The module's score, kept while each of its lessons' progress is the very object it was worked out with."""
    key = ("module", module.iri)
    kept = per_lesson.get(key)
    if kept is not None and len(kept[0]) == len(lessons) and all(a is b for a, b in zip(kept[0], lessons, strict=True)):
        return kept[1]  # type: ignore[no-any-return]
    score = question_score([q for lesson in module.lessons for q in lesson.graded], records)
    per_lesson[key] = (tuple(lessons), score)
    return score


def _next_lesson(modules: list[ModuleProgress], last_iri: str | None) -> Lesson | None:
    """Where "Continue" goes: the last lesson if unfinished, else the next open one after it."""
    open_lessons = [(mp, lp) for mp in modules if mp.status != "locked" for lp in mp.lessons]
    order = [lp.lesson.iri for _, lp in open_lessons]
    start = order.index(last_iri) if last_iri in order else 0
    for _, lp in open_lessons[start:] + open_lessons[:start]:
        if lp.status != "completed":
            return lp.lesson
    return None


def is_locked(progress: CourseProgress, lesson: Lesson) -> bool:
    return progress.module_of(lesson).status == "locked"
