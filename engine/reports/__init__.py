"""Reporting: the figures facilitators, admins, teams and learners see, and their definitions.

Every figure is computed from the records the runtime keeps (see docs/reporting.md for each definition), so
a learner's own view and a facilitator's dashboard can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

from course import Course

from ..dates import govuk_date

__all__ = ["govuk_date", "learning_seconds"]


def learning_seconds(course: Course, completed: Iterable[str]) -> int:
    """Learning time, in seconds, for the completed lessons ``completed`` (IRIs): the authored durations.

    The engine does not watch how long a page stays open (that would need JavaScript and would still count
    a tab left open over lunch), so learning time is the time the author expects each completed lesson to
    take, as organisations count learning hours for continuing professional development.
    """
    done = set(completed)
    return sum(lesson.duration or 0 for lesson in course.lessons() if lesson.iri in done)

