"""Build the statements the engine emits (see docs/xapi-profile.md) and store them with their action.

Statement ids are UUIDs made here, before anything is sent anywhere, so a
delivery retried after a crash can never create a duplicate at an LRS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import unescape
from typing import Any

from course import Course, Lesson, Module
from course.model import Block, Checklist, Poll, Question, Reflection, Video

from ..storage.clock import now
from ..storage.db import Store
from ..storage.records import User
from .ids import statement_id
from .keys import index

ADL = "http://adlnet.gov/expapi/verbs/"
VIDEO = "https://w3id.org/xapi/video/"
VERBS: dict[str, str] = {
    "registered": ADL + "registered",
    "initialized": ADL + "initialized",
    "experienced": ADL + "experienced",
    "answered": ADL + "answered",
    "completed": ADL + "completed",
    "passed": ADL + "passed",
    "failed": ADL + "failed",
    "progressed": ADL + "progressed",
    "terminated": ADL + "terminated",
    "suspended": ADL + "suspended",
    "played": VIDEO + "verbs/played",
    "paused": VIDEO + "verbs/paused",
    "seeked": VIDEO + "verbs/seeked",
    "earned": "http://id.tincanapi.com/verb/earned",
    "commented": ADL + "commented",
    "shared": ADL + "shared",
}
EXT = "https://w3id.org/xapi/masterclass/extensions/"
DEPARTMENT = EXT + "department"
WORDS = EXT + "words"
PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"
PLATFORM = "Masterclass"
CMI_INTERACTION = "http://adlnet.gov/expapi/activities/cmi.interaction"
_TAGS = re.compile(r"<[^>]+>")


def text_of(html: str) -> str:
    return " ".join(unescape(_TAGS.sub(" ", html)).split())


def iso_duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"PT{int(hours)}H{int(minutes)}M{secs:.2f}S"


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _lang(course: Course, text: str) -> dict[str, str]:
    return {course.language: text}


def activity(course: Course, thing: Course | Module | Lesson | Block) -> dict[str, Any]:
    """The Activity object, with its definition, for a course, module, lesson or block."""
    definition: dict[str, Any] = {"type": thing.activity_type}
    if isinstance(thing, Course):
        definition["name"] = _lang(course, thing.title)
        if thing.description:
            definition["description"] = _lang(course, thing.description)
    elif isinstance(thing, Module | Lesson):
        definition["name"] = _lang(course, thing.title)
    elif isinstance(thing, Question):
        definition.update(
            name=_lang(course, text_of(thing.prompt_html)[:200] or thing.id),
            description=_lang(course, text_of(thing.prompt_html)),
            interactionType="choice",
            choices=[{"id": str(n), "description": _lang(course, o.text)} for n, o in enumerate(thing.options)],
            correctResponsesPattern=["[,]".join(str(i) for i in thing.correct)],
        )
    elif isinstance(thing, Poll):
        definition.update(name=_lang(course, text_of(thing.prompt_html)[:200] or thing.id),
                          description=_lang(course, text_of(thing.prompt_html)))
        if thing.scale:
            labels = thing.scale.labels or []
            points = range(thing.scale.low, thing.scale.high + 1)
            definition.update(interactionType="likert", scale=[
                {"id": str(p), "description": _lang(course, f"{p} {labels[n]}" if labels else str(p))}
                for n, p in enumerate(points)])
        else:
            definition.update(interactionType="choice", choices=[
                {"id": str(n), "description": _lang(course, o.text)} for n, o in enumerate(thing.options)])
        if thing.measure:
            definition["extensions"] = {EXT + "measure": thing.measure}
    elif isinstance(thing, Reflection):
        definition.update(name=_lang(course, text_of(thing.prompt_html)[:200] or thing.id),
                          description=_lang(course, text_of(thing.prompt_html)), interactionType="long-fill-in")
    elif isinstance(thing, Checklist):
        definition.update(name=_lang(course, text_of(thing.prompt_html)[:200] or thing.id),
                          interactionType="choice",
                          choices=[{"id": str(n), "description": _lang(course, i.text)}
                                   for n, i in enumerate(thing.items)])
    elif isinstance(thing, Video):
        definition["name"] = _lang(course, thing.id)
    return {"objectType": "Activity", "id": thing.iri, "definition": definition}


@dataclass
class Emitter:
    """Makes statements for one service; every statement goes to the built-in LRS and the outbox."""

    base_url: str
    endpoints: list[str] = field(default_factory=list)
    include_email: bool = False
    on_saved: Callable[[], None] | None = None
    """Called once statements queued for an external LRS are committed, e.g. to wake the delivery worker (which
    reads only what is committed)."""

    @property
    def authority(self) -> dict[str, Any]:
        return {"objectType": "Agent", "account": {"homePage": self.base_url, "name": "masterclass-engine"}}

    def actor(self, user: User) -> dict[str, Any]:
        if self.include_email:
            return {"objectType": "Agent", "name": user.name, "mbox": "mailto:" + user.email}
        return {"objectType": "Agent", "account": {"homePage": self.base_url, "name": user.public_id}}

    def statement(self, verb: str, obj: dict[str, Any], *, user: User, course: Course, registration: str,
                  parents: Sequence[Course | Module | Lesson] = (), result: dict[str, Any] | None = None,
                  extensions: dict[str, Any] | None = None, team: dict[str, Any] | None = None) -> dict[str, Any]:
        stamp = now()
        context: dict[str, Any] = {
            "registration": registration,
            "contextActivities": {"grouping": [{"objectType": "Activity", "id": course.iri,
                                                "definition": {"type": course.activity_type}}]},
            "language": course.language,
            "platform": PLATFORM,
            "extensions": {DEPARTMENT: user.department, **(extensions or {})},
        }
        if parents:
            context["contextActivities"]["parent"] = [
                {"objectType": "Activity", "id": p.iri, "definition": {"type": p.activity_type}} for p in parents]
        if team:
            context["team"] = team
        if obj.get("id") == course.iri:
            del context["contextActivities"]["grouping"]
            if not context["contextActivities"]:
                del context["contextActivities"]
        statement: dict[str, Any] = {
            "id": statement_id(),
            "actor": self.actor(user),
            "verb": {"id": VERBS[verb], "display": {"en-US": verb}},
            "object": obj,
            "context": context,
            "timestamp": stamp,
        }
        if result:
            statement["result"] = result
        return statement

    def save(self, store: Store, statements: list[dict[str, Any]]) -> None:
        """Store statements in the caller's transaction, queued for every external LRS."""
        if not statements:
            return
        stored = now()
        rows = []
        for statement in statements:
            statement.update(stored=stored, authority=self.authority, version="1.0.0")
            rows.append(index(statement))
        store.save_statements(rows, endpoints=self.endpoints, now=stored,
                              saved=self.on_saved if self.endpoints else None)
