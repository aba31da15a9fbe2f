"""Certificates at run time: when a learner has earned one, issuing it with its ``earned`` statement, and how it
reads on a page.

A certificate is issued in the transaction that records what earned it (the course completion, or the capstone
completion when the course's certificate ``requires_capstone``), from :func:`engine.events.completions`.
Learners who earned one before certificates existed get it on their next visit (:func:`ensure`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from course import Course
from course.certificate import DEFAULTS

from .dates import govuk_date
from .storage import certificates as db
from .storage.capstone import completion as capstone_completion
from .storage.db import Store
from .storage.records import Records, User
from .xapi.emit import EXT, Emitter

if TYPE_CHECKING:
    from .events import Learner

Certificate = db.Certificate
ACTIVITY_TYPE = "http://id.tincanapi.com/activitytype/certificate"
CODE_EXTENSION = EXT + "certificate-code"

def config(course: Course) -> dict[str, Any]:
    """The course's certificate settings; compiled output older than the certificate section has none."""
    return {**DEFAULTS, **(course.certificate or {})}


def activity(course: Course) -> dict[str, Any]:
    """The certificate as an xAPI activity: one per course, which each learner earns."""
    title = config(course)["title"]
    return {"objectType": "Activity", "id": f"{course.iri.rstrip('/')}/certificate",
            "definition": {"type": ACTIVITY_TYPE, "name": {course.language: title},
                           "description": {course.language: f"{title}: {course.title}"}}}


def on_completions(learner: Learner, records: Records, new: list[tuple[str, str, float | None]], *,
                   capstone_done: bool) -> list[dict[str, Any]]:
    """The ``earned`` statement when the learner's records now earn the certificate; caller holds the transaction
    (see :func:`engine.events.completions`)."""
    course = learner.course
    if course.iri not in records.completions and not any(kind == "course" for kind, _iri, _s in new):
        return []
    if records.derived.get("certified"):
        return []  # a completed learner views lessons again and again: one look for the certificate is enough
    statements, certified = _issue(learner, capstone_done=capstone_done)
    if certified:
        records.derived["certified"] = True  # certificates are never deleted (revoked ones stay, marked)
    return statements


def needs_capstone(course: Course) -> bool:
    """Whether issuing the course's certificate waits for the capstone."""
    settings = config(course)
    return bool(settings["enabled"] and settings["requires_capstone"] and course.capstone is not None)


def _issue(learner: Learner, *, capstone_done: bool) -> tuple[list[dict[str, Any]], bool]:
    """The ``earned`` statement if a certificate is issued now, and whether the learner has one."""
    store, course, user = learner.store, learner.course, learner.user
    settings = config(course)
    if not settings["enabled"] or (needs_capstone(course) and not capstone_done):
        return [], False
    if db.for_user(store, user.id, course.iri) is not None:
        return [], True
    certificate = db.issue(store, user_id=user.id, course_iri=course.iri, name=user.name,
                           course_title=course.title, title=settings["title"], signed_by=settings["signed_by"])
    if certificate is None:
        return [], False
    return [learner.statement("earned", activity(course),
                              result={"completion": True,
                                      "extensions": {CODE_EXTENSION: certificate.display_code}})], True


def ensure(store: Store, emitter: Emitter, course: Course, user: User) -> Certificate | None:
    """The learner's certificate for the course, issued now if they earned it before certificates existed."""
    found = db.for_user(store, user.id, course.iri)
    if found is not None or not config(course)["enabled"]:
        return found
    enrolment = store.enrolment(user.id, course.iri)
    if enrolment is None or not db.course_completed(store, enrolment.id, course.iri):
        return None
    from .events import Learner  # events imports this module

    with store.transaction():
        done = capstone_completion(store, user.id, course.iri) is not None
        emitter.save(store, _issue(Learner(store, emitter, course, user, enrolment), capstone_done=done)[0])
    return db.for_user(store, user.id, course.iri)


def view(certificate: Certificate, base_url: str) -> dict[str, Any]:
    """What the certificate pages show. Learner text stays text: the templates escape it."""
    return {
        "title": certificate.title,
        "name": certificate.name,
        "course_title": certificate.course_title,
        "signed_by": certificate.signed_by,
        "code": certificate.display_code,
        "issued_on": govuk_date(certificate.issued_at),
        "issued_at": certificate.issued_at,
        "revoked": certificate.revoked,
        "revoked_on": govuk_date(certificate.revoked_at),
        "revoked_reason": certificate.revoked_reason,
        "revoked_by": certificate.revoked_by,
        "url": f"{base_url.rstrip('/')}/certificates/{certificate.display_code}",
        "path": f"/certificates/{certificate.display_code}",
    }
