"""Learner events: each records the action and its xAPI statements in one transaction.

The statements are those catalogued in docs/xapi-profile.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from course import Course, Lesson
from course.model import Block, Checklist, Poll, Question, Reflection, Video

from . import certificates, progress
from .storage.capstone import completion as capstone_completion
from .storage.clock import now
from .storage.db import Store
from .storage.records import Enrolment, Records, User
from .xapi.emit import PROGRESS, WORDS, Emitter, activity, iso_duration, seconds_between


@dataclass
class Learner:
    """Who is acting, in which course: what every event needs."""

    store: Store
    emitter: Emitter
    course: Course
    user: User
    enrolment: Enrolment

    def statement(self, verb: str, obj: Any, **kwargs: Any) -> dict[str, Any]:
        target = obj if isinstance(obj, dict) else activity(self.course, obj)
        return self.emitter.statement(verb, target, user=self.user, course=self.course,
                                      registration=self.enrolment.registration, **kwargs)


def enrolled(learner: Learner) -> None:
    """The learner's first visit to a course: the enrolment exists; say so to the LRS."""
    with learner.store.transaction():
        learner.emitter.save(learner.store, [learner.statement("registered", learner.course)])


def session_started(learner: Learner, session_token: str | None) -> None:
    """``initialized`` once per sign-in session and course."""
    if not session_token or learner.store.session_met(session_token, learner.course.iri):
        return  # every request of a session comes here: no write transaction for what is already known
    with learner.store.transaction():
        if learner.store.session_first(session_token, learner.course.iri):
            learner.emitter.save(learner.store, [learner.statement("initialized", learner.course)])


def lesson_viewed(learner: Learner, lesson: Lesson, session_token: str | None) -> None:
    store, course = learner.store, learner.course
    if (session_token and store.session_met(session_token, lesson.iri)
            and _nothing_to_record(learner, store.records(learner.enrolment.id))
            and store.view_again(learner.enrolment.id, lesson.iri)):
        return  # a repeat view, with no statement and no completion: its count and time, one statement
    with store.transaction():
        store.record_view(learner.enrolment.id, lesson.iri)
        statements = []
        if session_token and store.session_first(session_token, lesson.iri):
            module = course.module(lesson.module)
            statements.append(learner.statement("experienced", lesson, parents=[module] if module else []))
        statements += completions(learner)
        learner.emitter.save(store, statements)


def signed_out(store: Store, emitter: Emitter, user: User, courses: dict[str, Course], session_token: str) -> None:
    """``terminated`` for every course this session initialized."""
    with store.transaction():
        statements = []
        for iri in store.session_objects(session_token):
            course = courses.get(iri)
            enrolment = store.enrolment(user.id, iri) if course else None
            if course and enrolment:
                statements.append(Learner(store, emitter, course, user, enrolment).statement("terminated", course))
        emitter.save(store, statements)


def block_statement(learner: Learner, lesson: Lesson, block: Block, value: Any, attempt: tuple[float, bool] | None
                    ) -> dict[str, Any]:
    """The statement for one submission to a block."""
    parents = [lesson]
    if isinstance(block, Question) and attempt is not None:
        score, success = attempt
        result = {"response": "[,]".join(str(i) for i in value), "success": success,
                  "score": {"scaled": score, "raw": score, "min": 0, "max": 1}}
        return learner.statement("answered", block, parents=parents, result=result)
    if isinstance(block, Poll):
        values = value if isinstance(value, list) else [value]
        return learner.statement("answered", block, parents=parents, result={"response": "[,]".join(values)})
    if isinstance(block, Reflection):
        # The text stays private to the learner (data minimisation): the LRS learns that it was written.
        return learner.statement("answered", block, parents=parents,
                                 result={"completion": True, "extensions": {WORDS: len(str(value).split())}})
    if isinstance(block, Checklist):
        return learner.statement("answered", block, parents=parents,
                                 result={"response": "[,]".join(str(i) for i in value),
                                         "completion": len(value) == len(block.items)})
    if isinstance(block, Video):
        return learner.statement("completed", block, parents=parents,
                                 result={"completion": True,
                                         "extensions": {"https://w3id.org/xapi/video/extensions/progress": 1.0}})
    raise ValueError(f"no statement for {block.type}")


def completions(learner: Learner) -> list[dict[str, Any]]:
    """Record completions the learner's records now reach, with their statements; caller holds the transaction."""
    store, course = learner.store, learner.course
    records = store.records(learner.enrolment.id)
    state = progress.evaluate(course, records)
    done = False
    if _asks_capstone(course, records, state):
        done = capstone_completion(store, learner.user.id, course.iri) is not None
        if done:
            state = progress.evaluate(course, records, capstone_done=True)
    statements: list[dict[str, Any]] = []
    stamp = now()
    for kind, iri, score in state.new_completions:
        if not store.add_completion(learner.enrolment.id, iri, kind, score):
            continue
        statements += _completed(learner, kind, iri, score, records, stamp)
    if statements:
        statements.append(learner.statement("progressed", course,
                                            result={"extensions": {PROGRESS: state.percent}}))
    return statements + certificates.on_completions(learner, records, state.new_completions, capstone_done=done)


def _asks_capstone(course: Course, records: Records, state: progress.CourseProgress) -> bool:
    """Whether the team's capstone matters to what the records reach. It does only once the modules are done: for
    the course's completion, or for a certificate that waits for it. Most views are earlier, and need not ask."""
    completed_before = course.iri in records.completions
    return course.capstone is not None and (
        (state.modules_complete and not completed_before)
        or (completed_before and certificates.needs_capstone(course) and not records.derived.get("certified"))
    )


def _nothing_to_record(learner: Learner, records: Records) -> bool:
    """True when ``completions`` would record nothing for these records, asked without a transaction: no
    completion newly reached, no capstone to ask about, no certificate to look for (``on_completions``)."""
    course = learner.course
    state = progress.evaluate(course, records)
    if state.new_completions or _asks_capstone(course, records, state):
        return False
    return course.iri not in records.completions or bool(records.derived.get("certified"))


def _completed(learner: Learner, kind: str, iri: str, score: float | None, records: Records, stamp: str
               ) -> list[dict[str, Any]]:
    course = learner.course
    out = []
    if kind == "lesson":
        lesson = next(lesson for lesson in course.lessons() if lesson.iri == iri)
        module = course.module(lesson.module)
        started = records.views.get(iri, stamp)
        result: dict[str, Any] = {"completion": True, "duration": iso_duration(seconds_between(started, stamp))}
        if score is not None:
            result["score"] = {"scaled": round(score, 4)}
        if lesson.complete_when == "passed" and module is not None:
            out.append(learner.statement("passed", lesson, parents=[module],
                                         result={**result, "success": True}))
        out.append(learner.statement("completed", lesson, parents=[module] if module else [], result=result))
    elif kind == "module":
        module = next(m for m in course.modules if m.iri == iri)
        firsts = [records.views[lesson.iri] for lesson in module.lessons if lesson.iri in records.views]
        started = min(firsts) if firsts else stamp
        result = {"completion": True, "duration": iso_duration(seconds_between(started, stamp))}
        if score is not None:
            result["score"] = {"scaled": round(score, 4)}
        if module.complete_when == "passed":
            out.append(learner.statement("passed", module, parents=[course], result={**result, "success": True}))
        out.append(learner.statement("completed", module, parents=[course], result=result))
    else:
        result = {"completion": True,
                  "duration": iso_duration(seconds_between(learner.enrolment.created_at, stamp))}
        out.append(learner.statement("completed", course, result=result))
    return out


def lesson_failed(learner: Learner, lesson: Lesson, records: Records, mastery: float) -> dict[str, Any] | None:
    """``failed`` when every question of a pass-to-complete lesson is answered but the score is short."""
    questions = lesson.graded
    if lesson.complete_when != "passed" or not questions or lesson.iri in records.completions:
        return None
    if not all(q.iri in records.latest for q in questions):
        return None
    score = progress.question_score(questions, records) or 0.0
    if score >= mastery:
        return None
    module = learner.course.module(lesson.module)
    return learner.statement("failed", lesson, parents=[module] if module else [],
                             result={"success": False, "score": {"scaled": round(score, 4)}})


VIDEO_EXT = "https://w3id.org/xapi/video/extensions/"


def video_event(learner: Learner, lesson: Lesson, video: Video, event: str, data: dict[str, float]) -> None:
    """played / paused / seeked from the browser's video player, per the xAPI Video Profile."""
    result: dict[str, Any] = {"extensions": {}}
    if event == "seeked":
        result["extensions"][VIDEO_EXT + "time-from"] = round(data["from"], 3)
        result["extensions"][VIDEO_EXT + "time-to"] = round(data["to"], 3)
    else:
        result["extensions"][VIDEO_EXT + "time"] = round(data["time"], 3)
    if "progress" in data:
        result["extensions"][VIDEO_EXT + "progress"] = round(min(max(data["progress"], 0.0), 1.0), 3)
    extensions: dict[str, Any] = {}
    if "length" in data:
        extensions[VIDEO_EXT + "length"] = round(data["length"], 3)
    with learner.store.transaction():
        learner.emitter.save(learner.store, [learner.statement(event, video, parents=[lesson], result=result,
                                                               extensions=extensions)])
