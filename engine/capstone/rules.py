"""Capstone rules: form validation, the majority rule, and each stage's status computed from the team's records."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from course import Course
from course.model import Capstone, Stage

from ..storage import capstone as db
from ..storage.db import Store
from ..storage.records import User

Status = Literal["not_started", "in_progress", "completed"]
STATUS_TEXT = {"not_started": "Not started", "in_progress": "In progress", "completed": "Completed"}

OUTCOMES = {"worked": "Worked", "partly": "Partly worked", "did_not_work": "Did not work"}
THEMES = ("Customer service", "Process and paperwork", "Digital and data", "Communication", "Wellbeing and inclusion",
          "Cost and time saving", "Other")

SHORT = 120
"""The longest title, name or unit."""
LONG = 2000
"""The longest idea, comment, plan or reflection field."""
CASE_LONG = 5000
"""The longest case study field."""
MAX_MEASURES = 3


class Invalid(Exception):
    """A form with problems: each is ``{"field": <element id>, "text": <message>}``; nothing was changed."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(e["text"] for e in errors))
        self.errors = errors


def majority(confirmed: int, members: int) -> bool:
    """Agreed when more than half of the team's current members confirm."""
    return members > 0 and 2 * confirmed > members


def needed_for_majority(members: int) -> int:
    return members // 2 + 1


class Form:
    """Reads and checks posted fields, collecting every problem before anything is saved."""

    def __init__(self, form: dict[str, list[str]]) -> None:
        self.form = form
        self.errors: list[dict[str, str]] = []
        self.values: dict[str, str] = {}

    def raw(self, name: str) -> str:
        return (self.form.get(name) or [""])[0]

    def error(self, field_id: str, text: str) -> None:
        self.errors.append({"field": field_id, "text": text})

    def text(self, name: str, label: str, *, limit: int = LONG, required: bool = True, field_id: str = "") -> str:
        """The field as typed (line endings normalised, outer spaces trimmed)."""
        value = self.raw(name).replace("\r\n", "\n").strip()
        self.values[name] = value
        where = field_id or name
        if required and not value:
            self.error(where, f"Enter {label}")
        elif len(value) > limit:
            self.error(where, f"{label[0].upper()}{label[1:]} must be {limit:,} characters or fewer")
        return value

    def number(self, name: str, label: str, *, field_id: str = "") -> float | None:
        value = self.raw(name).strip().replace(",", "")
        self.values[name] = value
        where = field_id or name
        if not value:
            self.error(where, f"Enter {label}")
            return None
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or abs(number) > 1e12:
            self.error(where, f"{label[0].upper()}{label[1:]} must be a number, like 12 or 3.5")
            return None
        return number

    def date(self, name: str, label: str) -> str:
        value = self.raw(name).strip()
        self.values[name] = value
        if not value:
            self.error(name, f"Enter {label}")
            return ""
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            self.error(name, f"{label[0].upper()}{label[1:]} must be a real date, like 2026-03-27")
            return ""

    def choice(self, name: str, label: str, choices: list[str] | tuple[str, ...] | dict[str, str]) -> str:
        value = self.raw(name).strip()
        self.values[name] = value
        if value not in choices:
            self.error(name, f"Select {label}")
            return ""
        return value

    def check(self) -> None:
        if self.errors:
            raise Invalid(self.errors)


@dataclass
class StageState:
    stage: Stage
    status: Status
    detail: str = ""

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]


@dataclass
class TeamRecords:
    """Everything a team has recorded: the input to stage status."""

    team: db.Team
    members: list[User]
    ideas: list[db.Idea] = field(default_factory=list)
    decisions: list[db.Decision] = field(default_factory=list)
    plan: db.Plan | None = None
    measures: list[db.Measure] = field(default_factory=list)
    measurements: list[db.Measurement] = field(default_factory=list)
    reflections: list[db.Reflection] = field(default_factory=list)
    case_study: db.CaseStudy | None = None
    completed: set[str] = field(default_factory=set)

    @property
    def agreed(self) -> db.Decision | None:
        return next((d for d in self.decisions if d.agreed_at), None)

    @property
    def member_ids(self) -> set[int]:
        return {m.id for m in self.members}


def load(store: Store, team: db.Team) -> TeamRecords:
    return TeamRecords(
        team=team, members=db.members(store, team.id), ideas=db.ideas(store, team.id),
        decisions=db.decisions(store, team.id), plan=db.plan(store, team.id), measures=db.measures(store, team.id),
        measurements=db.measurements(store, team.id), reflections=db.reflections(store, team.id),
        case_study=db.case_study(store, team.id), completed=db.completed_stages(store, team.id))


def stage_state(stage: Stage, records: TeamRecords) -> StageState:
    """A stage's status; once completed it stays completed (a new member reopens nothing)."""
    status, detail = _compute(stage, records)
    if stage.id in records.completed:
        status = "completed"
    return StageState(stage, status, detail)


def _compute(stage: Stage, r: TeamRecords) -> tuple[Status, str]:
    rule = stage.complete_when
    if stage.kind == "ideas":
        visible = [i for i in r.ideas if not i.hidden_at]
        if "ideas" in rule:
            done = len(visible) >= rule["ideas"]
            detail = f"{len(visible)} of {rule['ideas']} ideas posted"
        else:
            need = int(rule.get("ideas_per_member", 1))
            ready = [m for m in r.members if sum(i.author.id == m.id for i in visible) >= need]
            done = bool(r.members) and len(ready) == len(r.members)
            detail = f"{len(ready)} of {len(r.members)} members have posted {need} or more"
        return ("completed" if done else "in_progress" if visible else "not_started"), detail
    if stage.kind == "decision":
        if r.agreed:
            return "completed", "Agreed"
        return ("in_progress" if r.decisions else "not_started"), ""
    if stage.kind == "plan":
        return ("completed" if r.plan and r.measures else "not_started"), ""
    if stage.kind == "measurements":
        need = int(rule.get("measurements", 1))
        count = len(r.measurements)
        return ("completed" if count >= need else "in_progress" if count else "not_started",
                f"{count} of {need} measurements recorded")
    if stage.kind == "reflection":
        reflected = {x.user_id for x in r.reflections} & r.member_ids
        need = len(r.members) if rule.get("reflections", "all_members") == "all_members" else int(rule["reflections"])
        done = bool(r.members) and len(reflected) >= need
        return ("completed" if done else "in_progress" if reflected else "not_started",
                f"{len(reflected)} of {need} members have reflected")
    if stage.kind == "case_study":
        case = r.case_study
        if case and case.status == "published":
            return "completed", "Published"
        return ("in_progress" if case else "not_started"), ""
    return "not_started", ""


def stage_states(capstone: Capstone, records: TeamRecords) -> list[StageState]:
    return [stage_state(stage, records) for stage in capstone.stages]


def missing_before(capstone: Capstone, records: TeamRecords, kind: str) -> list[Stage]:
    """The stages before the first stage of ``kind`` that are not complete."""
    out = []
    for stage in capstone.stages:
        if stage.kind == kind:
            break
        if stage_state(stage, records).status != "completed":
            out.append(stage)
    return out


def stage_of(course: Course, kind: str) -> Stage | None:
    if course.capstone is None:
        return None
    return next((s for s in course.capstone.stages if s.kind == kind), None)
