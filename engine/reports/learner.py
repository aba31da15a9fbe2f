"""One learner's progress report, and their team's: what "My progress", the team progress page and the
facilitators' per-learner drill-down show.

Statuses, scores and completion come from :func:`engine.progress.evaluate` on the learner's records, exactly as
the course home computes them, so the pages can never disagree with it. docs/reporting.md ("Learner and team
views") defines every figure.

The report holds plain values and ISO 8601 timestamps, with properties for the words and dates a page shows, so
a template needs no functions of its own and a CSV export can use the raw values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from typing import Literal

from course import Course, Lesson, Module
from course.model import Question, Stage

from .. import progress
from ..capstone import capstone_done, capstone_status, rules
from ..dates import govuk_date
from ..storage import capstone as capstone_db
from ..storage import learner_report as db
from ..storage.db import Store
from ..storage.records import Enrolment, Records, User
from . import learning_seconds

__all__ = [
    "CapstoneReport",
    "LearnerReport",
    "LessonReport",
    "MemberProgress",
    "ModuleReport",
    "NextStep",
    "QuestionReport",
    "StageReport",
    "TeamReport",
    "attempts_text",
    "duration_text",
    "govuk_date",
    "learner_report",
    "member_progress",
    "plain_text",
    "team_report",
]

Result = Literal["passed", "not_passed", "not_answered"]

STATUS_TEXT = {"completed": "Completed", "in_progress": "In progress", "not_started": "Not yet started",
               "locked": "Cannot start yet"}
"""As the course home's task list words them."""
RESULT_TEXT = {"passed": "Passed", "not_passed": "Not passed", "not_answered": "Not answered"}



# --- words and dates ----------------------------------------------------------------------------------------

def duration_text(seconds: int) -> str:
    """Whole minutes in words ("1 hour 5 minutes"), as GOV.UK writes times."""
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour" + ("" if hours == 1 else "s"))
    if minutes or not hours:
        parts.append(f"{minutes} minute" + ("" if minutes == 1 else "s"))
    return " ".join(parts)


_BLOCK_TAG = re.compile(r"<(?:/?(?:p|div|li|ul|ol|h[1-6]|blockquote|pre|table|tr|td|th)\b[^>]*|br\s*/?)>", re.I)
_TAG = re.compile(r"<[^>]*>")


def plain_text(html: str) -> str:
    """A question's prompt as one line of plain text: its words, without its emphasis or links ("*right*?" is
    "right?", not "right ?"), so the page escapes it like any other text."""
    return " ".join(unescape(_TAG.sub("", _BLOCK_TAG.sub(" ", html))).split())


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def attempts_text(attempts: int, right_on: int | None, correct: bool) -> str:
    """How a question went: "Not answered", "1 attempt, right first time", "2 attempts, right on the 2nd"..."""
    if attempts == 0:
        return "Not answered"
    count = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    if right_on is None:
        return f"{count}, not right yet"
    if right_on == 1 and attempts == 1:
        return f"{count}, right first time"
    if right_on == attempts:
        return f"{count}, right on the {_ordinal(right_on)}"
    # Answered again after getting it right: the score counts the latest answer, so say how that went.
    return f"{count}, first right on the {_ordinal(right_on)}, " + ("right on the latest" if correct
                                                                   else "not right on the latest")


def _percent(score: float | None) -> int | None:
    return None if score is None else round(100 * score)


# --- the report ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuestionReport:
    question: Question
    text: str
    """The question's prompt as plain text."""
    attempts: int
    right_on: int | None
    """The number of the first correct attempt, or None."""
    correct: bool
    """Whether the latest attempt is right (the score counts the latest)."""

    @property
    def attempts_text(self) -> str:
        return attempts_text(self.attempts, self.right_on, self.correct)


class _Dated:
    """What the course, a module and a lesson show alike: their status, dates and learning time in words."""

    status: progress.Status
    first_opened: str | None
    completed_at: str | None
    learning_seconds: int

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]

    @property
    def first_opened_date(self) -> str:
        return govuk_date(self.first_opened)

    @property
    def completed_date(self) -> str:
        return govuk_date(self.completed_at)

    @property
    def learning_time_text(self) -> str:
        return duration_text(self.learning_seconds)


class _Progressed(_Dated):
    """A module's and a lesson's score against the pass mark, in words."""

    score: float | None
    result: Result | None

    @property
    def score_percent(self) -> int | None:
        return _percent(self.score)

    @property
    def result_text(self) -> str:
        return RESULT_TEXT[self.result] if self.result else ""


@dataclass(frozen=True)
class LessonReport(_Progressed):
    lesson: Lesson
    status: progress.Status
    score: float | None
    """The lesson's question score, 0 to 1 (unanswered questions count 0); None without questions."""
    result: Result | None
    """Against the module's mastery score; None without questions."""
    first_opened: str | None
    completed_at: str | None
    learning_seconds: int
    questions: list[QuestionReport]
    url: str

@dataclass(frozen=True)
class ModuleReport(_Progressed):
    module: Module
    status: progress.Status
    score: float | None
    result: Result | None
    mastery: float
    first_opened: str | None
    """The earliest first opening of any of its lessons."""
    completed_at: str | None
    learning_seconds: int
    lessons: list[LessonReport]

    @property
    def mastery_percent(self) -> int:
        return round(100 * self.mastery)

    @property
    def lessons_completed(self) -> int:
        return sum(lr.status == "completed" for lr in self.lessons)

    @property
    def questions(self) -> list[tuple[LessonReport, QuestionReport]]:
        return [(lr, q) for lr in self.lessons for q in lr.questions]

@dataclass(frozen=True)
class StageReport:
    stage: Stage
    status: rules.Status
    detail: str
    completed_at: str | None
    url: str

    @property
    def status_text(self) -> str:
        return rules.STATUS_TEXT[self.status]  # as the capstone's own pages word it

    @property
    def completed_date(self) -> str:
        return govuk_date(self.completed_at)


@dataclass(frozen=True)
class CapstoneReport:
    title: str
    status: rules.Status
    team: capstone_db.Team | None
    team_url: str
    """The team's overview page, or empty without a team."""
    start_url: str
    """Where to start or join a team."""
    stages: list[StageReport]
    completed_at: str | None
    """When the learner's team completed every stage while they were a member."""

    @property
    def status_text(self) -> str:
        return rules.STATUS_TEXT[self.status]

    @property
    def completed_date(self) -> str:
        return govuk_date(self.completed_at)


@dataclass(frozen=True)
class NextStep:
    kind: Literal["lesson", "join_team", "stage", "improve", "completed", "nothing"]
    """``lesson``: the lesson to open next (as "Continue" on the course home); ``join_team``: the course needs
    the team project and the learner has no team; ``stage``: the first stage their team has not completed;
    ``improve``: every lesson is done but a module's score is below its mastery score; ``completed``: the course
    is complete; ``nothing``: nothing the learner can do now (e.g. no attempts left)."""
    title: str = ""
    """The lesson, stage or module's title."""
    url: str = ""
    module_title: str = ""
    mastery_percent: int | None = None


@dataclass(frozen=True)
class LearnerReport:
    course: Course
    user: User
    enrolled_at: str | None
    """None before the learner first opens the course, one of its lessons or its team project, which enrols them."""
    completed: bool
    completed_at: str | None
    percent: int
    lessons_completed: int
    lessons_total: int
    modules_completed: int
    modules_total: int
    learning_seconds: int
    modules: list[ModuleReport]
    capstone: CapstoneReport | None
    next_step: NextStep

    @property
    def started(self) -> bool:
        return any(m.first_opened for m in self.modules)

    @property
    def first_opened(self) -> str | None:
        return min((m.first_opened for m in self.modules if m.first_opened), default=None)

    @property
    def status(self) -> progress.Status:
        return "completed" if self.completed else "in_progress" if self.started else "not_started"

    # Its status and first opening are worked out from its modules, so it cannot share _Dated's fields.
    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]

    @property
    def first_opened_date(self) -> str:
        return govuk_date(self.first_opened)

    @property
    def completed_date(self) -> str:
        return govuk_date(self.completed_at)

    @property
    def learning_time_text(self) -> str:
        return duration_text(self.learning_seconds)


def _result(score: float | None, answered: bool, mastery: float) -> Result | None:
    if score is None:
        return None
    if not answered:
        return "not_answered"
    return "passed" if score >= mastery else "not_passed"


def _lesson_report(course: Course, lp: progress.LessonProgress, records: Records, firsts: dict[str, int],
                   mastery: float) -> LessonReport:
    lesson = lp.lesson
    questions = [QuestionReport(q, plain_text(q.prompt_html) or q.id, records.attempts.get(q.iri, 0),
                                firsts.get(q.iri), bool(q.iri in records.latest and records.latest[q.iri].success))
                 for q in lesson.graded]
    done = lp.status == "completed"
    return LessonReport(
        lesson=lesson, status=lp.status, score=lp.score,
        result=_result(lp.score, any(q.attempts for q in questions), mastery),
        first_opened=records.views.get(lesson.iri),
        completed_at=records.completions[lesson.iri][0] if lesson.iri in records.completions else None,
        learning_seconds=learning_seconds(course, [lesson.iri]) if done else 0,
        questions=questions, url=f"/{course.slug}/{lesson.module}/{lesson.id}")


def _evaluate(store: Store, course: Course, user: User) -> tuple[Enrolment | None, Records, progress.CourseProgress]:
    """The learner's records and progress as the course home computes them (nothing is written)."""
    enrolment = store.enrolment(user.id, course.iri)
    records = store.records(enrolment.id) if enrolment else Records()
    state = progress.evaluate(course, records, enrolment.last_lesson_iri if enrolment else None,
                              capstone_done=capstone_done(store, course, user.id))
    return enrolment, records, state


def _capstone(store: Store, course: Course, user: User) -> CapstoneReport | None:
    found = capstone_status(store, course, user)
    if found is None:
        return None
    team = found.team
    team_url = f"/{course.slug}/capstone/teams/{team.id}" if team else ""
    done_at = db.stage_completed_at(store, team.id) if team else {}
    stages = [StageReport(s.stage, s.status, s.detail, done_at.get(s.stage.id), f"{team_url}/{s.stage.id}")
              for s in found.stages]
    return CapstoneReport(title=found.title, status=found.status, team=team, team_url=team_url,
                          start_url=found.url, stages=stages,
                          completed_at=capstone_db.completion(store, user.id, course.iri))


def _next_step(course: Course, state: progress.CourseProgress, records: Records,
               capstone: CapstoneReport | None) -> NextStep:
    if state.completed:
        return NextStep("completed")
    if state.next_lesson is not None:
        lesson = state.next_lesson
        module = course.module(lesson.module)
        return NextStep("lesson", lesson.title, f"/{course.slug}/{lesson.module}/{lesson.id}",
                        module.title if module else "")
    for mp in state.modules:
        if mp.status == "completed" or not all(lp.status == "completed" for lp in mp.lessons):
            continue
        # Every lesson is done but the module's score is short of its mastery score: a lesson with a question
        # not yet right, and an attempt left, is where the score can still rise.
        for lp in mp.lessons:
            for q in lp.lesson.graded:
                limit = q.max_attempts or course.max_attempts
                right = q.iri in records.latest and records.latest[q.iri].success
                if not right and not (limit and records.attempts.get(q.iri, 0) >= limit):
                    return NextStep("improve", lp.lesson.title, f"/{course.slug}/{lp.lesson.module}/{lp.lesson.id}",
                                    mp.module.title, round(100 * mp.module.mastery_score))
    # The course's own lessons first, then the team project it needs.
    if capstone is not None and course.completion_capstone and capstone.completed_at is None:
        if capstone.team is None:
            return NextStep("join_team", capstone.title, capstone.start_url)
        stage = next((s for s in capstone.stages if s.status != "completed"), None)
        if stage is not None:
            return NextStep("stage", stage.stage.title, stage.url)
    return NextStep("nothing")


def learner_report(store: Store, course: Course, user: User) -> LearnerReport:
    """Everything "My progress" shows about ``user`` in ``course``; reads only, so any viewer may ask for it."""
    enrolment, records, state = _evaluate(store, course, user)
    firsts = db.first_right(store, enrolment.id) if enrolment else {}
    modules = []
    for mp in state.modules:
        mastery = mp.module.mastery_score
        lessons = [_lesson_report(course, lp, records, firsts, mastery) for lp in mp.lessons]
        opened = [lr.first_opened for lr in lessons if lr.first_opened]
        answered = any(q.attempts for lr in lessons for q in lr.questions)
        iri = mp.module.iri
        modules.append(ModuleReport(
            module=mp.module, status=mp.status, score=mp.score, result=_result(mp.score, answered, mastery),
            mastery=mastery, first_opened=min(opened, default=None),
            completed_at=records.completions[iri][0] if iri in records.completions else None,
            learning_seconds=sum(lr.learning_seconds for lr in lessons), lessons=lessons))
    every = [lr for m in modules for lr in m.lessons]
    capstone = _capstone(store, course, user)
    return LearnerReport(
        course=course, user=user, enrolled_at=enrolment.created_at if enrolment else None, completed=state.completed,
        completed_at=records.completions[course.iri][0] if course.iri in records.completions else None,
        percent=state.percent, lessons_completed=sum(lr.status == "completed" for lr in every),
        lessons_total=len(every), modules_completed=sum(m.status == "completed" for m in modules),
        modules_total=len(modules),
        learning_seconds=learning_seconds(course, [lr.lesson.iri for lr in every if lr.status == "completed"]),
        modules=modules, capstone=capstone, next_step=_next_step(course, state, records, capstone))


# --- the team -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberProgress:
    user: User
    percent: int
    lessons_completed: int
    lessons_total: int
    modules_completed: int
    modules_total: int
    completed: bool


@dataclass(frozen=True)
class TeamReport:
    course: Course
    team: capstone_db.Team
    team_url: str
    members: list[MemberProgress]
    """The team's current members, in the order they joined."""
    stages: list[StageReport]

    @property
    def stages_completed(self) -> int:
        return sum(s.status == "completed" for s in self.stages)

    @property
    def members_completed(self) -> int:
        return sum(m.completed for m in self.members)


def member_progress(store: Store, course: Course, user: User) -> MemberProgress:
    """A learner's course progress in the figures the team view shows (as on their course home)."""
    _enrolment, _records, state = _evaluate(store, course, user)
    lessons = [lp for mp in state.modules for lp in mp.lessons]
    return MemberProgress(user=user, percent=state.percent,
                          lessons_completed=sum(lp.status == "completed" for lp in lessons),
                          lessons_total=len(lessons),
                          modules_completed=sum(mp.status == "completed" for mp in state.modules),
                          modules_total=len(state.modules), completed=state.completed)


def team_report(store: Store, course: Course, team: capstone_db.Team) -> TeamReport:
    """Each current member's course progress and each capstone stage's status; the caller checks who may see it."""
    assert course.capstone is not None
    team_url = f"/{course.slug}/capstone/teams/{team.id}"
    records = rules.load(store, team)
    done_at = db.stage_completed_at(store, team.id)
    stages = [StageReport(s.stage, s.status, s.detail, done_at.get(s.stage.id), f"{team_url}/{s.stage.id}")
              for s in rules.stage_states(course.capstone, records)]
    return TeamReport(course=course, team=team, team_url=team_url,
                      members=[member_progress(store, course, m) for m in records.members], stages=stages)
