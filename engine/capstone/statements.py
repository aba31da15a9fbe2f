"""The capstone's xAPI statements (docs/xapi-profile.md, "Capstone"): context.team is a Group of the members."""

from __future__ import annotations

from typing import Any

from course import Course
from course.model import Stage

from ..events import Learner
from ..storage import capstone as db
from ..storage.records import User
from ..xapi.emit import WORDS

MC = "https://w3id.org/xapi/masterclass/"
ACTIVITY_TYPES = {
    "capstone": MC + "activities/capstone",
    "team": MC + "activities/team",
    "idea": MC + "activities/idea",
    "decision": MC + "activities/decision",
    "plan": MC + "activities/plan",
    "measure": MC + "activities/measure",
    "case_study": MC + "activities/case-study",
}
VERBS: dict[str, str] = {
    "created": "http://activitystrea.ms/schema/1.0/create",
    "joined": "http://activitystrea.ms/schema/1.0/join",
    "left": "http://activitystrea.ms/schema/1.0/leave",
    "moved": MC + "verbs/moved",
    "proposed": MC + "verbs/proposed",
    "commented": "http://adlnet.gov/expapi/verbs/commented",
    "voted-up": "http://id.tincanapi.com/verb/voted-up",
    "voted-down": "http://id.tincanapi.com/verb/voted-down",
    "withdrew": MC + "verbs/withdrew",
    "agreed": "http://activitystrea.ms/schema/1.0/agree",
    "planned": MC + "verbs/planned",
    "measured": MC + "verbs/measured",
    "reflected": MC + "verbs/reflected",
    "drafted": MC + "verbs/drafted",
    "submitted": "http://activitystrea.ms/schema/1.0/submit",
    "published": MC + "verbs/published",
    "hid": MC + "verbs/hid",
    "liked": "http://activitystrea.ms/schema/1.0/like",
    "completed": "http://adlnet.gov/expapi/verbs/completed",
}
EXT = MC + "extensions/"
VALUE = EXT + "value"
UNIT = EXT + "unit"
TAKEN_ON = EXT + "taken-on"
OUTCOME = EXT + "outcome"
MOVED = EXT + "moved-learner"
REASON = EXT + "reason"
MAJORITY = EXT + "majority"


def capstone_iri(course: Course) -> str:
    return f"{course.iri.rstrip('/')}/capstone"


def team_iri(course: Course, team: db.Team) -> str:
    return f"{capstone_iri(course)}/teams/{team.id}"


def _activity(iri: str, kind: str, course: Course, name: str) -> dict[str, Any]:
    return {"objectType": "Activity", "id": iri,
            "definition": {"type": ACTIVITY_TYPES[kind], "name": {course.language: name[:200] or kind}}}


def capstone_activity(course: Course) -> dict[str, Any]:
    title = course.capstone.title if course.capstone else "Capstone"
    return _activity(capstone_iri(course), "capstone", course, title)


def team_activity(course: Course, team: db.Team) -> dict[str, Any]:
    return _activity(team_iri(course, team), "team", course, team.name)


def idea_activity(course: Course, team: db.Team, idea_id: int, title: str) -> dict[str, Any]:
    return _activity(f"{team_iri(course, team)}/ideas/{idea_id}", "idea", course, title)


def decision_activity(course: Course, team: db.Team, decision_id: int, change: str) -> dict[str, Any]:
    return _activity(f"{team_iri(course, team)}/decisions/{decision_id}", "decision", course, change)


def plan_activity(course: Course, team: db.Team) -> dict[str, Any]:
    return _activity(f"{team_iri(course, team)}/plan", "plan", course, f"{team.name}: plan")


def measure_activity(course: Course, team: db.Team, measure: db.Measure) -> dict[str, Any]:
    return _activity(f"{team_iri(course, team)}/measures/{measure.id}", "measure", course, measure.name)


def case_study_activity(course: Course, team: db.Team, title: str) -> dict[str, Any]:
    return _activity(f"{team_iri(course, team)}/case-study", "case_study", course, title)


def stage_activity(course: Course, stage: Stage) -> dict[str, Any]:
    return {"objectType": "Activity", "id": stage.iri,
            "definition": {"type": stage.activity_type, "name": {course.language: stage.title}}}


def group(learner: Learner, team: db.Team, members: list[User]) -> dict[str, Any]:
    return {"objectType": "Group", "name": team.name, "member": [learner.emitter.actor(m) for m in members]}


def statement(learner: Learner, verb: str, obj: dict[str, Any], *, team: db.Team, members: list[User],
              stage: Stage | None = None, result: dict[str, Any] | None = None,
              extensions: dict[str, Any] | None = None) -> dict[str, Any]:
    """One capstone statement by ``learner`` with context.team, the course as grouping and the stage as parent."""
    made = learner.emitter.statement("commented", obj, user=learner.user, course=learner.course,
                                     registration=learner.enrolment.registration, result=result,
                                     extensions=extensions, team=group(learner, team, members))
    made["verb"] = {"id": VERBS[verb], "display": {"en-US": verb}}
    parent_iri = stage.iri if stage else capstone_iri(learner.course)
    if obj["id"] != parent_iri:
        parent_type = stage.activity_type if stage else ACTIVITY_TYPES["capstone"]
        made["context"]["contextActivities"]["parent"] = [
            {"objectType": "Activity", "id": parent_iri, "definition": {"type": parent_type}}]
    return made


def words(text: str) -> dict[str, Any]:
    return {WORDS: len(text.split())}
