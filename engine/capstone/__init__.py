"""The capstone team project at run time: teams, stages, statements, and what it adds to course progress.

The course home and :func:`engine.progress.evaluate` call :func:`capstone_status` and :func:`capstone_done`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from course import Course

from ..progress import CourseProgress
from ..storage import capstone as db
from ..storage.db import Store
from ..storage.records import User
from .rules import STATUS_TEXT, StageState, Status, load, stage_states

__all__ = ["CapstoneStatus", "capstone_done", "capstone_status", "with_capstone"]


@dataclass
class CapstoneStatus:
    """The capstone as the course home's task list shows it."""

    title: str
    url: str
    team: db.Team | None
    stages: list[StageState]
    status: Status
    completed: bool

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]


def capstone_status(store: Store, course: Course, user: User) -> CapstoneStatus | None:
    """The learner's capstone: their team's stage statuses; None when the course has no capstone."""
    if course.capstone is None:
        return None
    team = db.active_team(store, user.id, course.iri)
    done = db.completion(store, user.id, course.iri) is not None
    stages = stage_states(course.capstone, load(store, team)) if team else []
    if done:
        status: Status = "completed"
    elif team is not None:
        status = "in_progress"
    else:
        status = "not_started"
    return CapstoneStatus(title=course.capstone.title, url=f"/{course.slug}/capstone/", team=team, stages=stages,
                          status=status, completed=done)


def capstone_done(store: Store, course: Course, user_id: int) -> bool:
    """True when the learner's team completed every stage while they were a member (it stays true)."""
    return db.completion(store, user_id, course.iri) is not None


def with_capstone(course: Course, state: CourseProgress, done: bool) -> CourseProgress:
    """Course progress with the capstone required when the course says ``completion: {capstone: true}``."""
    if not course.completion_capstone or done or not any(kind == "course" for kind, _i, _s in state.new_completions):
        # Nothing to hold back (a course completion recorded before stays recorded).
        return state
    return dataclasses.replace(state, completed=False,
                               new_completions=[c for c in state.new_completions if c[0] != "course"])
