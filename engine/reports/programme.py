"""The programme dashboard: enrolment, completion, learning time, hard questions, survey measures, the capstone.

Every figure comes from the report tallies (engine/storage/reports.py), which triggers keep equal to the
records the learner views are computed from. docs/reporting.md defines each one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from course import Course
from course.model import Poll, Question

from ..storage import reports as queries
from ..storage.db import Store
from ..storage.reports import Period, Tallies

OUTCOMES = {"worked": "It worked", "partly": "It partly worked", "did_not_work": "It did not work"}


@dataclass
class Count:
    label: str
    count: int
    of: int
    """What the share is a share of (0 when there is nothing to share)."""

    @property
    def percent(self) -> float | None:
        return 100.0 * self.count / self.of if self.of else None


@dataclass
class DepartmentRow:
    department: str
    enrolled: int
    started: int
    completed: int

    @property
    def completed_percent(self) -> float | None:
        return 100.0 * self.completed / self.enrolled if self.enrolled else None


@dataclass
class HardQuestion:
    question: Question
    lesson_title: str
    module_title: str
    first_attempts: int
    wrong: int

    @property
    def percent(self) -> float:
        return 100.0 * self.wrong / self.first_attempts if self.first_attempts else 0.0


@dataclass
class Distribution:
    poll: Poll
    counts: list[Count]
    """One per option or scale point, in order; each a share of the poll's answers."""
    answers: int
    positive: int | None
    """Answers above the middle of a scale (e.g. agree or strongly agree); None for a poll of options."""

    @property
    def positive_percent(self) -> float | None:
        return 100.0 * self.positive / self.answers if self.positive is not None and self.answers else None


@dataclass
class MeasureDepartment:
    department: str
    before: Distribution
    after: Distribution

    @property
    def change(self) -> float | None:
        a, b = self.before.positive_percent, self.after.positive_percent
        return None if a is None or b is None else b - a


@dataclass
class Measure:
    name: str
    question: str
    """The poll's prompt as plain text."""
    before: Distribution
    after: Distribution | None
    """None when the course asks the measure only once."""
    departments: list[MeasureDepartment]
    baseline: dict[str, Any] | None
    """``{"percent": 42.6, "source": "..."}`` from the measure_baselines setting."""

    @property
    def change(self) -> float | None:
        if self.after is None:
            return None
        a, b = self.before.positive_percent, self.after.positive_percent
        return None if a is None or b is None else b - a


@dataclass
class Programme:
    course: Course
    department: str | None
    period: Period
    enrolled: int
    started: int
    completed: int
    funnel: list[Count]
    median_days: float | None
    learning_seconds: int
    hard_questions: list[HardQuestion]
    departments: list[DepartmentRow]
    teams: int
    stages: list[Count]
    outcomes: list[Count]
    measures: list[Measure] = field(default_factory=list)

    @property
    def started_percent(self) -> float | None:
        return 100.0 * self.started / self.enrolled if self.enrolled else None

    @property
    def completed_percent(self) -> float | None:
        return 100.0 * self.completed / self.enrolled if self.enrolled else None


def _total(tallies: Tallies) -> dict[str, int]:
    total: dict[str, int] = {}
    for keys in tallies.values():
        for key, n in keys.items():
            total[key] = total.get(key, 0) + n
    return total


def median_days(total: dict[str, int]) -> float | None:
    """The median of whole days from enrolling to completing, from the ``days:<n>`` histogram."""
    histogram = sorted((int(key[5:]), n) for key, n in total.items() if key.startswith("days:") and n > 0)
    count = sum(n for _, n in histogram)
    if not count:
        return None
    ranks = [(count - 1) // 2, count // 2]  # the two middle values (the same one when count is odd)
    values: list[int] = []
    seen = 0
    for days, n in histogram:
        while len(values) < 2 and ranks[len(values)] < seen + n:
            values.append(days)
        seen += n
    return (values[0] + values[1]) / 2


def distribution(poll: Poll, keys: dict[str, int]) -> Distribution:
    prefix = f"poll:{poll.iri}="
    if poll.scale is not None:
        scale = poll.scale
        values = [str(v) for v in range(scale.low, scale.high + 1)]
        labels = [scale_label(poll, int(v)) for v in values]
    else:
        values = [str(i) for i in range(len(poll.options))]
        labels = [option.text for option in poll.options]
    counts = [keys.get(prefix + v, 0) for v in values]
    answers = sum(counts)
    positive = None
    if poll.scale is not None:
        middle = (poll.scale.low + poll.scale.high) / 2
        positive = sum(n for v, n in zip(values, counts, strict=True) if int(v) > middle)
    return Distribution(poll, [Count(label, n, answers) for label, n in zip(labels, counts, strict=True)],
                        answers, positive)


def scale_label(poll: Poll, value: int) -> str:
    scale = poll.scale
    assert scale is not None
    labels = list(scale.labels or [])
    if len(labels) == scale.high - scale.low + 1:
        return f"{value}: {labels[value - scale.low]}"
    return str(value)


def measures(course: Course, tallies: Tallies, total: dict[str, int], baselines: dict[str, Any]) -> list[Measure]:
    """Each survey measure: the first poll tagged with it is "before", the last "after"."""
    polls: dict[str, list[Poll]] = {}
    for lesson in course.lessons():
        for block in lesson.blocks:
            if isinstance(block, Poll) and block.measure:
                polls.setdefault(block.measure, []).append(block)
    out = []
    for name, tagged in polls.items():
        first, last = tagged[0], tagged[-1]
        per_department = []
        if last is not first:
            for dept, keys in sorted(tallies.items()):
                before, after = distribution(first, keys), distribution(last, keys)
                if before.answers or after.answers:
                    per_department.append(MeasureDepartment(dept, before, after))
        question = Markup(first.prompt_html).striptags()  # noqa: S704 - the compiled prompt, made plain text
        out.append(Measure(name, question, distribution(first, total),
                           distribution(last, total) if last is not first else None,
                           per_department, baselines.get(name)))
    return out


def programme(store: Store, course: Course, *, department: str | None = None, period: Period | None = None,
              baselines: dict[str, Any] | None = None) -> Programme:
    period = period or Period()
    tallies = queries.tallies(store, course.iri, department=department, period=period)
    total = _total(tallies)
    enrolled, started = total.get("enrolled", 0), total.get("started", 0)
    completed = total.get(f"course:{course.iri}", 0)
    funnel = [Count(module.title, total.get(f"module:{module.iri}", 0), enrolled) for module in course.modules]
    learning = sum((lesson.duration or 0) * total.get(f"lesson:{lesson.iri}", 0) for lesson in course.lessons())
    hard = []
    for module in course.modules:
        for lesson in module.lessons:
            for block in lesson.blocks:
                if isinstance(block, Question) and total.get(f"first:{block.iri}", 0):
                    hard.append(HardQuestion(block, lesson.title, module.title, total[f"first:{block.iri}"],
                                             total.get(f"wrong:{block.iri}", 0)))
    hard.sort(key=lambda h: (-h.percent, -h.first_attempts))
    departments = [
        DepartmentRow(dept, keys.get("enrolled", 0), keys.get("started", 0), keys.get(f"course:{course.iri}", 0))
        for dept, keys in sorted(tallies.items()) if keys.get("enrolled", 0)
    ]
    teams = total.get("teams", 0)
    stages = []
    if course.capstone is not None:
        stages = [Count(stage.title, total.get(f"stage:{stage.id}", 0), teams) for stage in course.capstone.stages]
    published = sum(total.get(f"published:{key}", 0) for key in OUTCOMES)
    outcomes = [Count(label, total.get(f"published:{key}", 0), published) for key, label in OUTCOMES.items()]
    return Programme(course, department, period, enrolled, started, completed, funnel, median_days(total),
                     learning, hard[:10], departments, teams, stages, outcomes,
                     measures(course, tallies, total, baselines or {}))
