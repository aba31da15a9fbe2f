"""Progress and completion, computed from recorded events against the compiled course.

Because it is computed, content edits are handled: a block id that no longer
exists no longer counts. Completions once reached are recorded and stay, so a
new required block reopens nothing a learner already completed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, Literal

from course import Course, Lesson, Module
from course.model import Poll, Question

from .storage.records import PER_LESSON, Records

Status = Literal["not_started", "in_progress", "completed", "locked"]


# Frozen and shared: a store keeps progress with the records of thousands of learners, and Python's garbage
# collector walks every object they hold, with the event loop stopped. Learners whose progress in a lesson or a
# module is the same share one object for it (``_share``), so what each learner's kept records hold is a few
# objects, not the 170 or so that one each made (decision 0022).
@dataclass(frozen=True, slots=True, eq=False)
class LessonProgress:
    lesson: Lesson
    status: Status
    score: float | None
    """Mean of the lesson's question scores (unanswered counts 0); None without questions."""


@dataclass(frozen=True, slots=True, eq=False)
class ModuleProgress:
    module: Module
    status: Status
    lessons: tuple[LessonProgress, ...]
    score: float | None


SHARED_MAX = 100_000
"""Shared progress objects kept at most per course; past this its table starts again (records keep theirs)."""


def _share(table: dict[tuple[Any, ...], Any], key: tuple[Any, ...], make: Any) -> Any:
    """The course's one object for ``key``. A key names the lesson or module by id() and the progress inside by
    the id() of shared objects: the value holds every object whose id() is in its key, so no id can be reused
    while the entry stands."""
    found = table.get(key)
    if found is None:
        if len(table) >= SHARED_MAX:
            table.clear()
        found = table[key] = make()
    return found


@dataclass
class CourseProgress:
    course: Course
    modules: tuple[ModuleProgress, ...]
    completed: bool
    percent: int
    modules_complete: bool = False
    """Whether every module the course's completion needs is complete (the capstone aside)."""
    last_lesson_iri: str | None = None
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
        found = _layout(self.course).positions.get(id(lesson))
        if found is not None:
            mp = self.modules[found[0]]
            lp = mp.lessons[found[1]]
            if lp.lesson is lesson:
                return mp, lp
        raise KeyError(f"{lesson.iri} is not a lesson of {self.course.iri}")


def question_score(lesson_questions: list[Question], records: Records) -> float | None:
    if not lesson_questions:
        return None
    latest = records.latest
    return sum(latest.score(q.iri) for q in lesson_questions) / len(lesson_questions)


def _answered(block: Question | Poll, records: Records) -> bool:
    return block.iri in (records.latest if isinstance(block, Question) else records.responses)


def lesson_progress(lesson: Lesson, records: Records, mastery: float,
                    shared: dict[tuple[Any, ...], Any] | None = None) -> LessonProgress:
    """The learner's progress in one lesson; one object per distinct progress from ``shared``, when given."""
    questions = lesson.graded
    if lesson.iri not in records.views and lesson.iri not in records.completions and lesson.iri not in records.touched:
        # Most lessons of a long course are untouched: say so without looking at each block.
        return _lesson(shared, lesson, "not_started", 0.0 if questions else None)
    score = question_score(questions, records)
    if lesson.iri in records.completions:
        return _lesson(shared, lesson, "completed", score)
    viewed = lesson.iri in records.views
    answerable = [b for b in lesson.blocks if isinstance(b, Question | Poll)]
    if lesson.complete_when == "viewed":
        done = viewed
    elif lesson.complete_when == "answered":
        done = viewed and all(_answered(b, records) for b in answerable)
    else:
        done = viewed and all(_answered(q, records) for q in questions) and (score or 0.0) >= mastery
    started = viewed or any(b.iri in records.responses or b.iri in records.latest for b in lesson.blocks)
    return _lesson(shared, lesson, "completed" if done else "in_progress" if started else "not_started", score)


def _lesson(shared: dict[tuple[Any, ...], Any] | None, lesson: Lesson, status: Status, score: float | None
            ) -> LessonProgress:
    if shared is None:
        return LessonProgress(lesson, status, score)
    return _share(shared, ("lesson", id(lesson), status, score),  # type: ignore[no-any-return]
                  partial(LessonProgress, lesson, status, score))


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
        new_completions=new,
    )


@dataclass(frozen=True, slots=True, eq=False)
class _Modules:
    """What ``evaluate`` works out from the records alone, kept with them (``Records.derived``): a lesson view
    evaluates the same records for its completions and again for the page."""

    modules: tuple[ModuleProgress, ...]
    new: tuple[tuple[str, str, float | None], ...]
    """Lesson and module completions not yet recorded."""
    complete: frozenset[str]
    """Ids of the completed modules."""
    percent: int
    """Of the course's lessons, completed."""


@dataclass(frozen=True, slots=True, eq=False)
class _ModuleWork:
    """What a module's lessons alone give, kept with the records until one of its lessons' records changes
    (``Records.changed`` drops it): an answer works out its own module again, not every module. Shared by the
    learners whose lessons' progress is the same (``_share``)."""

    module: Module
    lessons: tuple[LessonProgress, ...]
    score: float | None
    all_completed: bool
    """Every lesson's status is completed."""
    started: bool
    """Some lesson's status is not not_started."""
    completed: tuple[tuple[str, float | None], ...]
    """(IRI, score) of the lessons whose status is completed: those whose completion may be new."""
    key: tuple[int, ...]
    """The lessons' progress by id(), for the shared module progress (``_share``)."""
    by_status: dict[str, ModuleProgress] = field(default_factory=dict)
    """The module's shared progress for each status it has been found in, found again without a key."""


def _work(module: Module, records: Records, per_lesson: dict[str, LessonProgress],
          shared: dict[tuple[Any, ...], Any]) -> _ModuleWork:
    lessons = []
    for lesson in module.lessons:
        lp = per_lesson.get(lesson.iri)
        if lp is None or lp.lesson is not lesson:
            lp = per_lesson[lesson.iri] = lesson_progress(lesson, records, module.mastery_score, shared)
        lessons.append(lp)
    score = question_score([q for lesson in module.lessons for q in lesson.graded], records)
    key = tuple(map(id, lessons))

    def make() -> _ModuleWork:
        completed = tuple((lp.lesson.iri, lp.score) for lp in lessons if lp.status == "completed")
        return _ModuleWork(module, tuple(lessons), score, len(completed) == len(lessons),
                           any(lp.status != "not_started" for lp in lessons), completed, key)

    # Shared like the progress it is made of: learners whose lessons' progress and score are the same hold one.
    return _share(shared, ("work", id(module), score, *key), make)  # type: ignore[no-any-return]


def _modules(course: Course, records: Records) -> _Modules:
    kept = records.derived.get("progress")
    if kept is not None and kept[0] is course:
        return kept[1]  # type: ignore[no-any-return]
    new: list[tuple[str, str, float | None]] = []
    complete_modules: set[str] = set()
    per_lesson, per_module = _per_lesson(course, records)
    layout = _layout(course)
    shared = layout.shared
    completions = records.completions
    worked: list[tuple[_ModuleWork, Status]] = []
    done = 0
    for module in course.modules:
        work = per_module.get(module.iri)
        if work is None or work.module is not module:
            work = per_module[module.iri] = _work(module, records, per_lesson, shared)
        if work.completed:
            new += [("lesson", iri, score) for iri, score in work.completed if iri not in completions]
        done += len(work.completed)
        score = work.score
        if module.iri in completions:
            status: Status = "completed"
        elif work.all_completed and (module.complete_when == "all_lessons" or (score or 0.0) >= module.mastery_score):
            status = "completed"
            new.append(("module", module.iri, score))
        elif work.started:
            status = "in_progress"
        else:
            status = "not_started"
        worked.append((work, status))
        if status == "completed":
            complete_modules.add(module.id)
    modules = []
    for work, status in worked:
        module = work.module
        if status == "not_started" and not set(module.requires) <= complete_modules:
            status = "locked"
        found = work.by_status.get(status)
        if found is None:
            found = work.by_status[status] = _share(shared, ("module", id(module), status, work.score, *work.key),
                                                    partial(ModuleProgress, module, status, work.lessons, work.score))
        modules.append(found)
    result = _Modules(tuple(modules), tuple(new), frozenset(complete_modules),
                      round(100 * done / layout.lessons) if layout.lessons else 0)
    records.derived["progress"] = (course, result)
    return result


@dataclass(frozen=True, slots=True, eq=False)
class _Layout:
    """Where each lesson of a course is: the same for every learner, worked out once per course."""

    course: Course
    positions: dict[int, tuple[int, int]]
    """Each lesson's module and place in it, by the lesson's id()."""
    modules: dict[str, str]
    """Each lesson's module, by IRI: whose score a change to the lesson's records changes."""
    shared: dict[tuple[Any, ...], Any]
    """The course's shared progress objects (``_share``)."""
    lessons: int
    """How many lessons the course's modules hold."""


def _layout(course: Course) -> _Layout:
    kept = _layouts.get(id(course))
    if kept is None or kept.course is not course:
        if len(_layouts) >= MAX_LAYOUTS:
            # The preview compiles its course again at every edit: old compiles, with their shared progress, go once
            # learners' records no longer hold them. All at once, which no other thread's lookup can trip over.
            _layouts.clear()
        kept = _layouts[id(course)] = _Layout(
            course, {id(lesson): (m, n) for m, module in enumerate(course.modules)
                     for n, lesson in enumerate(module.lessons)},
            {lesson.iri: module.iri for module in course.modules for lesson in module.lessons}, {},
            sum(len(module.lessons) for module in course.modules))
    return kept


MAX_LAYOUTS = 16
"""Courses whose layout and shared progress are kept: the service's courses, and the preview's latest compiles."""
_layouts: dict[int, _Layout] = {}


def _per_lesson(course: Course, records: Records) -> tuple[dict[str, LessonProgress], dict[str, _ModuleWork]]:
    """What was worked out for each lesson alone, and for each module from its lessons, kept with the records
    until that lesson's records change (``Records.changed``, which finds the lesson's module in the course's
    layout): an answer re-evaluates its own lesson and module, not the whole course."""
    kept = records.derived.get(PER_LESSON)
    if kept is None or kept[0] is not course:
        kept = records.derived[PER_LESSON] = (course, {}, {}, _layout(course).modules)
    return kept[1], kept[2]


def _next_lesson(modules: tuple[ModuleProgress, ...], last_iri: str | None) -> Lesson | None:
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
