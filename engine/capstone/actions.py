"""Capstone actions: each checks its input, records the change and its xAPI statements in one transaction.

A form with problems raises :class:`~engine.capstone.rules.Invalid` before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from course.model import Capstone, Stage

from .. import events
from ..events import Learner
from ..numbers import row_id
from ..storage import capstone as db
from ..storage.records import User
from . import rules
from . import statements as st
from .rules import CASE_LONG, LONG, MAX_MEASURES, SHORT, Form, Invalid


class NotAllowed(Exception):
    """The person may not do this at all (not a member or facilitator of the team)."""


class BadForm(Exception):
    """A form no page of the service sends: an action, a kind or an id missing or unknown (a 400, not a 403)."""


@dataclass
class TeamAction:
    """A member (or facilitator) acting on a team: what every team action needs."""

    learner: Learner
    team: db.Team

    @property
    def capstone(self) -> Capstone:
        assert self.learner.course.capstone is not None
        return self.learner.course.capstone

    @property
    def members(self) -> list[User]:
        return db.members(self.learner.store, self.team.id)

    def stage(self, kind: str) -> Stage | None:
        return rules.stage_of(self.learner.course, kind)

    def member_only(self, field_id: str, doing: str) -> None:
        if self.learner.user.id not in {m.id for m in self.members}:
            raise Invalid([{"field": field_id, "text": f"Only members of {self.team.name} can {doing}"}])

    def minimum(self, field_id: str, doing: str) -> None:
        need = self.capstone.team_min
        if len(self.members) < need:
            raise Invalid([{"field": field_id, "text": f"Your team needs at least {need} members before you can "
                                                       f"{doing}. Share your join code with colleagues"}])

    def emit(self, verb: str, obj: dict[str, Any], *, stage_kind: str | None = None, **kwargs: Any) -> None:
        statement = st.statement(self.learner, verb, obj, team=self.team, members=self.members,
                                 stage=self.stage(stage_kind) if stage_kind else None, **kwargs)
        self.learner.emitter.save(self.learner.store, [statement])


def can_view(user: User, team: db.Team, members: list[User]) -> bool:
    """Members see their team; facilitators see teams of their department; admins see every team."""
    return (user.id in {m.id for m in members} or user.role == "admin"
            or (user.role == "facilitator" and user.department == team.department))


def can_moderate(user: User, team: db.Team) -> bool:
    return user.role == "admin" or (user.role == "facilitator" and user.department == team.department)


# --- teams ----------------------------------------------------------------------------------

def create_team(learner: Learner, form: dict[str, list[str]], departments: list[str]) -> db.Team:
    course, store, user = learner.course, learner.store, learner.user
    assert course.capstone is not None
    f = Form(form)
    name = f.text("name", "a name for your team", limit=SHORT)
    department = f.choice("department", "your team's department", departments)
    if department and course.capstone.same_department and department != user.department:
        f.error("department", f"Teams in this course are from one department: choose {user.department}")
    if db.active_team(store, user.id, course.iri) is not None:
        f.error("name", "You are already in a team for this course. Leave it before you create another")
    f.check()
    with store.transaction():
        team = db.create_team(store, course_iri=course.iri, name=name, department=department, creator=user)
        action = TeamAction(learner, team)
        action.emit("created", st.team_activity(course, team))
        action.emit("joined", st.team_activity(course, team))
    return team


def join_team(learner: Learner, team: db.Team, *, field_id: str = "code") -> None:
    course, store, user = learner.course, learner.store, learner.user
    assert course.capstone is not None
    with store.transaction():
        members = db.members(store, team.id)
        if user.id in {m.id for m in members}:
            return
        if db.active_team(store, user.id, course.iri) is not None:
            raise Invalid([{"field": field_id, "text": "You are already in a team for this course. Leave it "
                                                       "before you join another"}])
        if len(members) >= course.capstone.team_max:
            raise Invalid([{"field": field_id, "text": f"{team.name} is full: a team can have up to "
                                                       f"{course.capstone.team_max} members"}])
        if course.capstone.same_department and user.department != team.department:
            raise Invalid([{"field": field_id, "text": f"{team.name} is a team from {team.department}; teams "
                                                       "in this course are from one department"}])
        db.add_member(store, team, user)
        TeamAction(learner, team).emit("joined", st.team_activity(course, team))


def leave_team(learner: Learner, team: db.Team) -> None:
    with learner.store.transaction():
        action = TeamAction(learner, team)
        statement = st.statement(learner, "left", st.team_activity(learner.course, team), team=team,
                                 members=action.members)
        if db.remove_member(learner.store, team, learner.user.id):
            learner.emitter.save(learner.store, [statement])
            settle(action)


def move_member(facilitator: Learner, person: User, target: db.Team) -> None:
    """A facilitator moves a learner into ``target``, out of any team they are in."""
    course, store = facilitator.course, facilitator.store
    assert course.capstone is not None
    if not can_moderate(facilitator.user, target):
        raise NotAllowed(f"You cannot manage {target.name}")
    if facilitator.user.role != "admin" and person.department != facilitator.user.department:
        # Else a facilitator could take another department's learner into a team of their own, and then see the
        # learner's progress there, which their reports never show them.
        raise Invalid([{"field": "email", "text": f"You can move only people from {facilitator.user.department}"}])
    if course.capstone.same_department and person.department != target.department:
        raise Invalid([{"field": "team", "text": f"{target.name} is a team from {target.department}; teams in "
                                                 "this course are from one department"}])
    with store.transaction():
        current = db.active_team(store, person.id, course.iri)
        if current is not None and current.id == target.id:
            return
        if current is not None and not can_moderate(facilitator.user, current):
            raise Invalid([{"field": "email", "text": f"{person.name} is in {current.name}, a team you cannot "
                                                      "manage"}])
        if len(db.members(store, target.id)) >= course.capstone.team_max:
            raise Invalid([{"field": "team", "text": f"{target.name} is full: a team can have up to "
                                                     f"{course.capstone.team_max} members"}])
        if current is not None:
            db.remove_member(store, current, person.id)
        db.add_member(store, target, person, moved_by=facilitator.user.id)
        TeamAction(facilitator, target).emit("moved", st.team_activity(course, target),
                                             extensions={st.MOVED: facilitator.emitter.actor(person)})
        if current is not None:
            settle(TeamAction(facilitator, current))
        settle(TeamAction(facilitator, target))


# --- ideas ----------------------------------------------------------------------------------

def post_idea(action: TeamAction, form: dict[str, list[str]]) -> int:
    f = Form(form)
    title = f.text("title", "a title for your idea", limit=SHORT)
    problem = f.text("problem", "the problem it solves")
    change = f.text("change", "the change you suggest")
    f.check()
    action.member_only("title", "post ideas")
    store = action.learner.store
    with store.transaction():
        idea_id = db.add_idea(store, action.team.id, action.learner.user.id, title=title, problem=problem,
                              change=change)
        action.emit("proposed", st.idea_activity(action.learner.course, action.team, idea_id, title),
                    stage_kind="ideas")
        settle(action)
    return idea_id


def _open_idea(action: TeamAction, idea_id: int, field_id: str, doing: str) -> db.Idea:
    idea = db.idea(action.learner.store, action.team.id, idea_id)
    if idea is None:
        raise NotAllowed("There is no such idea in this team")
    if idea.hidden_at:
        raise Invalid([{"field": field_id, "text": f"You cannot {doing} an idea a facilitator has hidden"}])
    if idea.withdrawn_at:
        raise Invalid([{"field": field_id, "text": f"You cannot {doing} a withdrawn idea"}])
    return idea


def comment(action: TeamAction, idea_id: int, form: dict[str, list[str]]) -> None:
    field_id = f"comment-{idea_id}"
    f = Form(form)
    body = f.text("body", "your comment", field_id=field_id)
    f.check()
    action.member_only(field_id, "comment on ideas")
    idea = _open_idea(action, idea_id, field_id, "comment on")
    store = action.learner.store
    with store.transaction():
        db.add_comment(store, idea.id, action.learner.user.id, body)
        action.emit("commented", st.idea_activity(action.learner.course, action.team, idea.id, idea.title),
                    stage_kind="ideas", result={"extensions": st.words(body)})


def vote(action: TeamAction, idea_id: int, form: dict[str, list[str]]) -> None:
    field_id = f"vote-{idea_id}"
    f = Form(form)
    value = f.choice("vote", "for or against", ["up", "down"])
    if f.errors:
        raise Invalid([{"field": field_id, "text": "Select for or against"}])
    action.member_only(field_id, "vote on ideas")
    idea = _open_idea(action, idea_id, field_id, "vote on")
    store = action.learner.store
    with store.transaction():
        db.set_vote(store, idea.id, action.learner.user.id, 1 if value == "up" else -1)
        action.emit("voted-" + value, st.idea_activity(action.learner.course, action.team, idea.id, idea.title),
                    stage_kind="ideas")


def withdraw(action: TeamAction, idea_id: int) -> None:
    field_id = f"withdraw-{idea_id}"
    idea = _open_idea(action, idea_id, field_id, "withdraw")
    if idea.author.id != action.learner.user.id:
        raise Invalid([{"field": field_id, "text": "Only the person who posted an idea can withdraw it"}])
    store = action.learner.store
    with store.transaction():
        db.withdraw_idea(store, idea.id)
        action.emit("withdrew", st.idea_activity(action.learner.course, action.team, idea.id, idea.title),
                    stage_kind="ideas")


# --- decision -------------------------------------------------------------------------------

def propose(action: TeamAction, form: dict[str, list[str]]) -> int:
    store = action.learner.store
    f = Form(form)
    change = f.text("change", "the small change you agreed", limit=LONG)
    reason = f.text("reason", "why you chose it")
    chosen = form.get("ideas", [])
    open_ideas = {i.id for i in db.ideas(store, action.team.id) if not i.hidden_at}
    picked = sorted({n for n in map(row_id, chosen) if n is not None and n in open_ideas})
    if not picked or len(picked) != len(set(chosen)):
        f.error("ideas", "Select the ideas the change came from")
    f.check()
    action.member_only("change", "propose the team's decision")
    action.minimum("change", "agree a decision")
    records = rules.load(store, action.team)
    if records.agreed:
        raise Invalid([{"field": "change", "text": "Your team has already agreed its small change"}])
    with store.transaction():
        decision_id = db.add_decision(store, action.team.id, action.learner.user.id, change=change, reason=reason,
                                      idea_ids=picked)
        action.emit("proposed", st.decision_activity(action.learner.course, action.team, decision_id, change),
                    stage_kind="decision")
        _confirm_decision(action, decision_id, change)
    return decision_id


def confirm_decision(action: TeamAction, decision_id: int) -> None:
    field_id = f"confirm-{decision_id}"
    action.member_only(field_id, "confirm the team's decision")
    decision = next((d for d in db.decisions(action.learner.store, action.team.id) if d.id == decision_id), None)
    if decision is None:
        raise NotAllowed("There is no such decision in this team")
    if rules.load(action.learner.store, action.team).agreed:
        raise Invalid([{"field": field_id, "text": "Your team has already agreed its small change"}])
    with action.learner.store.transaction():
        _confirm_decision(action, decision.id, decision.change)


def _confirm_decision(action: TeamAction, decision_id: int, change: str) -> None:
    store, user = action.learner.store, action.learner.user
    db.confirm(store, "decision", decision_id, user.id)
    members = action.members
    confirmed = len(set(db.confirmations(store, "decision", decision_id)) & {m.id for m in members})
    agreed = rules.majority(confirmed, len(members))
    if agreed:
        db.mark_agreed(store, decision_id)
    action.emit("agreed", st.decision_activity(action.learner.course, action.team, decision_id, change),
                stage_kind="decision", result={"success": agreed, "extensions": {st.MAJORITY: agreed}})
    settle(action)


# --- plan, measurements, reflection ---------------------------------------------------------

def save_plan(action: TeamAction, form: dict[str, list[str]]) -> None:
    f = Form(form)
    hypothesis = f.text("hypothesis", "your hypothesis")
    change = f.text("change", "what will change")
    start = f.date("start_date", "the start date")
    review = f.date("review_date", "the review date")
    if start and review and review < start:
        f.error("review_date", "The review date must be on or after the start date")
    measures: list[tuple[str, str, float]] = []
    for n in range(1, MAX_MEASURES + 1):
        keys = (f"measure_{n}_name", f"measure_{n}_unit", f"measure_{n}_baseline")
        if n > 1 and not any(f.raw(k).strip() for k in keys):
            continue
        name = f.text(keys[0], f"the name of measure {n}", limit=SHORT)
        unit = f.text(keys[1], f"the unit of measure {n}", limit=SHORT)
        baseline = f.number(keys[2], f"the baseline of measure {n}")
        if name and unit and baseline is not None:
            measures.append((name, unit, baseline))
    if len({m[0].casefold() for m in measures}) != len(measures):
        f.error("measure_1_name", "Give each measure a different name")
    f.check()
    action.member_only("hypothesis", "change the plan")
    store = action.learner.store
    with store.transaction():
        db.save_plan(store, action.team.id, action.learner.user.id, hypothesis=hypothesis, change=change,
                     start_date=start, review_date=review, measures=measures)
        action.emit("planned", st.plan_activity(action.learner.course, action.team), stage_kind="plan")
        settle(action)


def measure(action: TeamAction, form: dict[str, list[str]]) -> None:
    store = action.learner.store
    known = {str(m.id): m for m in db.measures(store, action.team.id)}
    f = Form(form)
    if not known:
        f.error("measure", "Plan your experiment and its measures before you record measurements")
    chosen = known.get(f.raw("measure"))
    if known and chosen is None:
        f.error("measure", "Select one of the measures in your plan")
    taken_on = f.date("taken_on", "the date of the measurement")
    value = f.number("value", "the value")
    note = f.text("note", "a note", required=False)
    f.check()
    assert chosen is not None and value is not None
    action.member_only("measure", "record measurements")
    with store.transaction():
        db.add_measurement(store, chosen.id, action.learner.user.id, taken_on=taken_on, value=value, note=note)
        action.emit("measured", st.measure_activity(action.learner.course, action.team, chosen),
                    stage_kind="measurements",
                    result={"extensions": {st.VALUE: value, st.UNIT: chosen.unit, st.TAKEN_ON: taken_on}})
        settle(action)


def reflect(action: TeamAction, form: dict[str, list[str]]) -> None:
    f = Form(form)
    worked = f.text("worked", "what worked")
    not_worked = f.text("not_worked", "what did not work")
    advice = f.text("advice", "what you would tell another team")
    f.check()
    action.member_only("worked", "reflect")
    store = action.learner.store
    with store.transaction():
        db.save_reflection(store, action.team.id, action.learner.user.id, worked=worked, not_worked=not_worked,
                           advice=advice)
        stage = action.stage("reflection")
        assert stage is not None
        action.emit("reflected", st.stage_activity(action.learner.course, stage), stage_kind="reflection",
                    result={"completion": True, "extensions": st.words(" ".join((worked, not_worked, advice)))})
        settle(action)


# --- case study -----------------------------------------------------------------------------

class StaleDraft(Exception):
    """Someone saved the draft since this person opened it: nothing was overwritten."""

    def __init__(self, current: db.CaseStudy | None, typed: dict[str, str]) -> None:
        super().__init__("stale draft")
        self.current = current
        self.typed = typed


def save_case_study(action: TeamAction, form: dict[str, list[str]]) -> db.CaseStudy:
    f = Form(form)
    values = {
        "title": f.text("title", "a title", limit=SHORT),
        "problem": f.text("problem", "the problem", limit=CASE_LONG),
        "change": f.text("change", "the change you made", limit=CASE_LONG),
        "results": f.text("results", "what happened, with the numbers", limit=CASE_LONG),
        "lessons": f.text("lessons", "the lessons you learned", limit=CASE_LONG),
        "recommend": f.text("recommend", "whether you would recommend it", limit=CASE_LONG),
        "outcome": f.choice("outcome", "whether the change worked", rules.OUTCOMES),
        "theme": f.choice("theme", "a theme", rules.THEMES),
    }
    version_text = f.raw("version").strip()
    version = row_id(version_text)
    if version is None:
        version = -1
    f.check()
    action.member_only("title", "write the case study")
    store = action.learner.store
    current = db.case_study(store, action.team.id)
    if current is not None and current.status != "draft":
        raise Invalid([{"field": "title", "text": "Your case study is already submitted, so it can no longer "
                                                  "be changed"}])
    with store.transaction():
        saved = db.save_case_study(store, action.team.id, action.learner.user.id, values, version)
        if saved is None:
            raise StaleDraft(db.case_study(store, action.team.id), values)
        action.emit("drafted", st.case_study_activity(action.learner.course, action.team, saved.title),
                    stage_kind="case_study", result={"extensions": st.words(" ".join(values.values()))})
        settle(action)
    return saved


def confirm_case_study(action: TeamAction, form: dict[str, list[str]]) -> bool:
    """Confirm the current draft; True when that made a majority, so it is submitted and published."""
    store, course = action.learner.store, action.learner.course
    action.member_only("confirm", "submit the case study")
    case = db.case_study(store, action.team.id)
    if case is None:
        raise Invalid([{"field": "confirm", "text": "Write and save your case study before you submit it"}])
    version_text = (form.get("version") or [""])[0]
    if version_text != str(case.version):
        raise Invalid([{"field": "confirm", "text": "Someone else changed this draft since you opened it. Read "
                                                   "the latest version, then confirm it"}])
    if case.status != "draft":
        raise Invalid([{"field": "confirm", "text": "Your case study is already submitted"}])
    records = rules.load(store, action.team)
    missing = rules.missing_before(action.capstone, records, "case_study")
    if missing:
        raise Invalid([{"field": "confirm", "text": "Complete these stages before you submit your case study: "
                                                    + ", ".join(s.title for s in missing)}])
    action.minimum("confirm", "submit the case study")
    with store.transaction():
        db.confirm(store, "case_study", case.id, action.learner.user.id, case.version)
        members = action.members
        confirmed = len(set(db.confirmations(store, "case_study", case.id, case.version)) & {m.id for m in members})
        agreed = rules.majority(confirmed, len(members))
        obj = st.case_study_activity(course, action.team, case.title)
        action.emit("agreed", obj, stage_kind="case_study",
                    result={"success": agreed, "extensions": {st.MAJORITY: agreed}})
        if agreed:
            db.set_case_status(store, case.id, "submitted")
            action.emit("submitted", obj, stage_kind="case_study")
            db.set_case_status(store, case.id, "published")
            action.emit("published", obj, stage_kind="case_study",
                        result={"extensions": {st.OUTCOME: case.outcome}})
        settle(action)
    return agreed


# --- moderation and kudos -------------------------------------------------------------------

def hide(action: TeamAction, form: dict[str, list[str]]) -> str:
    """A facilitator hides an idea, comment or case study with a reason; returns the kind hidden."""
    store, user = action.learner.store, action.learner.user
    if not can_moderate(user, action.team):
        raise NotAllowed("Only a facilitator can hide content")
    kind = (form.get("kind") or [""])[0]
    raw_id = (form.get("id") or [""])[0]
    object_id = row_id(raw_id)
    if kind not in db.HIDEABLE or object_id is None:
        raise BadForm("There is nothing like that to hide")
    field_id = f"reason-{kind}-{object_id}"
    f = Form(form)
    reason = f.text("reason", "the reason you are hiding it", limit=LONG, field_id=field_id)
    f.check()
    course = action.learner.course
    if kind == "idea":
        idea = db.idea(store, action.team.id, object_id)
        obj = st.idea_activity(course, action.team, object_id, idea.title) if idea else None
    elif kind == "comment":
        owner = db.comment_team(store, object_id)
        parent = next((i for i in db.ideas(store, action.team.id) if any(c.id == object_id for c in i.comments)),
                      None)
        obj = (st.idea_activity(course, action.team, parent.id, parent.title)
               if owner == action.team.id and parent is not None else None)
    else:
        case = db.case_study(store, action.team.id)
        obj = st.case_study_activity(course, action.team, case.title) if case and case.id == object_id else None
    if obj is None:
        raise NotAllowed("There is nothing like that to hide in this team")
    with store.transaction():
        if db.hide(store, kind, object_id, reason=reason, by=user.id):
            action.emit("hid", obj, result={"response": reason, "extensions": {st.REASON: kind}})
    return kind


def give_kudos(learner: Learner, case: db.CaseStudy, team: db.Team) -> bool:
    with learner.store.transaction():
        if not db.give_kudos(learner.store, case.id, learner.user.id):
            return False
        TeamAction(learner, team).emit("liked", st.case_study_activity(learner.course, team, case.title))
    return True


# --- completion -----------------------------------------------------------------------------

def settle(action: TeamAction) -> None:
    """Record stages the team has now completed, and the capstone for every member once all are; caller holds
    the transaction."""
    store, course = action.learner.store, action.learner.course
    records = rules.load(store, action.team)
    for state in rules.stage_states(action.capstone, records):
        if state.status == "completed" and db.complete_stage(store, action.team.id, state.stage.id):
            action.emit("completed", st.stage_activity(course, state.stage), result={"completion": True})
    records.completed = db.completed_stages(store, action.team.id)
    if not records.members or not all(s.id in records.completed for s in action.capstone.stages):
        return
    for member in records.members:
        if not db.record_completion(store, member.id, course.iri, action.team.id):
            continue
        enrolment, _new = store.enrol(member.id, course.iri)
        them = Learner(store, action.learner.emitter, course, member, enrolment)
        statement = st.statement(them, "completed", st.capstone_activity(course), team=action.team,
                                 members=records.members, result={"completion": True})
        action.learner.emitter.save(store, [statement, *events.completions(them)])
