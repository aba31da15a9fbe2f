"""What the store reads and keeps for the runtime: users, enrolments, attempts, and an enrolment's records (the
input to progress and completion)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class User:
    id: int
    public_id: str
    name: str
    email: str
    department: str
    role: str
    password_hash: str = field(repr=False)
    created_at: str = ""


USER_COLUMNS = "id, public_id, name, email, department, role, password_hash, created_at"
"""The users table's columns, in ``User``'s order: column names only, never user input, so safe to format into SQL."""


def user_from_row(row: tuple[Any, ...] | None) -> User | None:
    return User(*row) if row else None


@dataclass(frozen=True, slots=True)
class Enrolment:
    id: int
    user_id: int
    course_iri: str
    registration: str
    created_at: str
    last_lesson_iri: str | None
    """The lesson viewed last, for "Continue where you left off" (``LAST_LESSON``)."""

    def moved_to(self, lesson_iri: str) -> Enrolment:
        """The same enrolment with another last lesson (most lesson views make one: ``dataclasses.replace`` took
        a few µs more)."""
        return Enrolment(self.id, self.user_id, self.course_iri, self.registration, self.created_at, lesson_iri)


LAST_LESSON = ("(SELECT v.lesson_iri FROM lesson_views v WHERE v.enrolment_id = e.id"
               " ORDER BY v.last_at DESC, v.lesson_iri LIMIT 1)")
"""SQL for an enrolment's last lesson, from its views, in a query that calls the enrolments table ``e``.

Migration 10 dropped ``enrolments.last_lesson_iri`` and ``last_seen_at``: every lesson view wrote them, a second
random page in the log per view, to say again what the view's own row in ``lesson_views`` says.
"""

LAST_SEEN = "(SELECT MAX(v.last_at) FROM lesson_views v WHERE v.enrolment_id = e.id)"
"""SQL for when the learner last opened or answered a lesson of the course (see ``LAST_LESSON``)."""


@dataclass(frozen=True, slots=True)
class Attempt:
    block_iri: str
    attempt_no: int
    response: Any
    score: float
    success: bool
    created_at: str


class Latest(dict[str, Any]):
    """Question IRI -> its latest attempt: kept as a plain tuple of text and numbers, which Python's garbage
    collector stops tracking, and handed out as an ``Attempt``. The store keeps thousands of learners' records, and
    a full collection walks every tracked object they hold with the event loop stopped (decision 0022)."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Attempt:
        return Attempt(*dict.__getitem__(self, key))

    def get(self, key: str, default: Any = None) -> Any:
        found = dict.get(self, key)
        return default if found is None else Attempt(*found)

    def score(self, key: str) -> float:
        """The latest attempt's score, or 0 for a question not answered: what progress counts."""
        found = dict.get(self, key)
        return 0.0 if found is None else float(found[3])

    def values(self) -> list[Attempt]:  # type: ignore[override]
        return [Attempt(*row) for row in dict.values(self)]

    def items(self) -> list[tuple[str, Attempt]]:  # type: ignore[override]
        return [(key, Attempt(*row)) for key, row in dict.items(self)]


@dataclass
class Records:
    """Everything recorded for one enrolment: the input to progress and completion."""

    views: dict[str, str] = field(default_factory=dict)
    """lesson IRI -> first viewed at."""
    responses: dict[str, Any] = field(default_factory=dict)
    """block IRI -> latest value (poll choice, reflection text, ticked items, watched)."""
    latest: Latest = field(default_factory=Latest)
    """question IRI -> latest attempt."""
    attempts: dict[str, int] = field(default_factory=dict)
    """question IRI -> number of attempts."""
    completions: dict[str, tuple[str, float | None]] = field(default_factory=dict)
    """object IRI -> (completed at, score)."""
    touched: set[str] = field(default_factory=set)
    """IRIs of lessons with any answer or response: the others need no closer look."""
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """What has been worked out from these records (progress.evaluate), kept with them: a request that evaluates
    the same records twice does the work once. The store empties it whenever it changes the records (``changed``),
    except what was worked out for each other lesson (``PER_LESSON``)."""

    def changed(self, lesson_iri: str) -> None:
        """Forget what was worked out from these records, after a change to what they hold about ``lesson_iri``
        (a lesson's view, answer or completion; or a module's or the course's completion, which no lesson's own
        progress reads). What each other lesson's records gave stays: they have not changed."""
        per_lesson = self.derived.get(PER_LESSON)
        self.derived.clear()
        if per_lesson is not None:
            per_lesson[1].pop(lesson_iri, None)
            module_iri = per_lesson[3].get(lesson_iri)  # a module's or the course's completion changes no score
            if module_iri is not None:
                per_lesson[2].pop(module_iri, None)
            self.derived[PER_LESSON] = per_lesson

    # One way from stored rows to records, whether read all at once or added as the store writes them.

    def add_response(self, block_iri: str, value_json: str, lesson_iri: str) -> None:
        self.responses[block_iri] = json.loads(value_json)
        self.touched.add(lesson_iri)

    def add_attempt(self, block_iri: str, number: int, response_json: str, score: float, success: bool,
                    created_at: str, lesson_iri: str) -> None:
        """An attempt later than any held for the block."""
        response = json.loads(response_json)
        if type(response) is list:  # the chosen options: a tuple, so that the garbage collector can stop tracking it
            response = tuple(response)
        dict.__setitem__(self.latest, block_iri, (block_iri, number, response, score, bool(success), created_at))
        self.attempts[block_iri] = number
        self.touched.add(lesson_iri)


PER_LESSON = "per_lesson"
"""The key in ``Records.derived`` of (course, {lesson IRI: what progress worked out for that lesson alone},
{module IRI: what progress worked out for it from its lessons}, {lesson IRI: its module's IRI}, the last shared by
every learner of the course)."""
