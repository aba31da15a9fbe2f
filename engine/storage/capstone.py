"""Capstone team project storage: every SQL statement the capstone runs.

Writers assert that the caller holds ``store.transaction()``, so an action and its xAPI statements commit together.
Nothing here deletes learner content: withdrawn and hidden items stay in the record, for credit and audit.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from .clock import now
from .db import Store
from .records import User, user_from_row

_USER_COLUMNS = "u.id, u.public_id, u.name, u.email, u.department, u.role, u.password_hash, u.created_at"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class AlreadyInTeam(Exception):
    """The learner already has an active team in this course."""


@dataclass(frozen=True)
class Team:
    id: int
    course_iri: str
    name: str
    department: str
    join_code: str
    created_by: int | None
    created_at: str


@dataclass
class Idea:
    id: int
    team_id: int
    author: User
    title: str
    problem: str
    change: str
    created_at: str
    withdrawn_at: str | None
    hidden_reason: str | None
    hidden_at: str | None
    comments: list[Comment] = field(default_factory=list)
    votes: dict[int, int] = field(default_factory=dict)
    """user id -> +1 or -1."""

    @property
    def support(self) -> int:
        return sum(v for v in self.votes.values() if v > 0)

    @property
    def against(self) -> int:
        return -sum(v for v in self.votes.values() if v < 0)


@dataclass
class Comment:
    id: int
    idea_id: int
    author: User
    body: str
    created_at: str
    hidden_reason: str | None
    hidden_at: str | None


@dataclass
class Decision:
    id: int
    team_id: int
    proposed_by: int | None
    change: str
    reason: str
    idea_ids: list[int]
    created_at: str
    agreed_at: str | None
    confirmed_by: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    team_id: int
    hypothesis: str
    change: str
    start_date: str
    review_date: str
    updated_at: str


@dataclass(frozen=True)
class Measure:
    id: int
    team_id: int
    name: str
    unit: str
    baseline: float


@dataclass(frozen=True)
class Measurement:
    id: int
    measure_id: int
    taken_on: str
    value: float
    note: str
    recorded_by: int | None
    created_at: str


@dataclass(frozen=True)
class Reflection:
    team_id: int
    user_id: int
    worked: str
    not_worked: str
    advice: str
    updated_at: str


CASE_FIELDS = ("title", "problem", "change", "results", "lessons", "recommend", "outcome", "theme")


@dataclass
class CaseStudy:
    id: int
    team_id: int
    title: str
    problem: str
    change: str
    results: str
    lessons: str
    recommend: str
    outcome: str
    theme: str
    version: int
    status: str
    updated_by: int | None
    updated_at: str
    submitted_at: str | None
    published_at: str | None
    hidden_reason: str | None
    hidden_at: str | None
    confirmed_by: list[int] = field(default_factory=list)

    def fields(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in CASE_FIELDS}


def _in_tx(store: Store) -> sqlite3.Connection:
    assert store.conn.in_transaction, "capstone writes must run inside store.transaction()"
    return store.conn


# --- teams and members ----------------------------------------------------------------------

_TEAM = "SELECT id, course_iri, name, department, join_code, created_by, created_at FROM capstone_teams"


def team(store: Store, team_id: int) -> Team | None:
    row = store.conn.execute(_TEAM + " WHERE id = ?", (team_id,)).fetchone()
    return Team(*row) if row else None


def team_by_code(store: Store, course_iri: str, code: str) -> Team | None:
    row = store.conn.execute(_TEAM + " WHERE course_iri = ? AND join_code = ?",
                             (course_iri, code.strip().upper())).fetchone()
    return Team(*row) if row else None


def teams(store: Store, course_iri: str, department: str | None = None) -> list[Team]:
    if department is None:
        rows = store.conn.execute(_TEAM + " WHERE course_iri = ? ORDER BY name, id", (course_iri,))
    else:
        rows = store.conn.execute(_TEAM + " WHERE course_iri = ? AND department = ? ORDER BY name, id",
                                  (course_iri, department))
    return [Team(*row) for row in rows]


def active_team(store: Store, user_id: int, course_iri: str) -> Team | None:
    row = store.conn.execute(
        "SELECT t.id, t.course_iri, t.name, t.department, t.join_code, t.created_by, t.created_at"
        " FROM capstone_members m JOIN capstone_teams t ON t.id = m.team_id"
        " WHERE m.user_id = ? AND m.course_iri = ? AND m.left_at IS NULL", (user_id, course_iri)).fetchone()
    return Team(*row) if row else None


def members(store: Store, team_id: int) -> list[User]:
    rows = store.conn.execute(
        f"SELECT {_USER_COLUMNS} FROM capstone_members m JOIN users u ON u.id = m.user_id"  # noqa: S608
        " WHERE m.team_id = ? AND m.left_at IS NULL ORDER BY m.joined_at, m.id", (team_id,))
    return [u for u in (user_from_row(row) for row in rows) if u is not None]


def create_team(store: Store, *, course_iri: str, name: str, department: str, creator: User) -> Team:
    conn = _in_tx(store)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    cursor = conn.execute(
        "INSERT INTO capstone_teams (course_iri, name, department, join_code, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)", (course_iri, name, department, code, creator.id, now()))
    created = team(store, int(cursor.lastrowid or 0))
    assert created is not None
    add_member(store, created, creator)
    return created


def add_member(store: Store, target: Team, user: User, *, moved_by: int | None = None) -> None:
    conn = _in_tx(store)
    try:
        conn.execute("INSERT INTO capstone_members (team_id, user_id, course_iri, joined_at, moved_by)"
                     " VALUES (?, ?, ?, ?, ?)", (target.id, user.id, target.course_iri, now(), moved_by))
    except sqlite3.IntegrityError:
        raise AlreadyInTeam(user.email) from None


def remove_member(store: Store, target: Team, user_id: int) -> bool:
    conn = _in_tx(store)
    return conn.execute("UPDATE capstone_members SET left_at = ? WHERE team_id = ? AND user_id = ?"
                        " AND left_at IS NULL", (now(), target.id, user_id)).rowcount == 1


# --- ideas, comments and votes --------------------------------------------------------------

FORMER_MEMBER = User(id=0, public_id="", name="a former member", email="", department="", role="learner",
                     password_hash="")
"""Who an idea or comment is credited to once its author has deleted their account (decision 0019): what they
wrote stays with the team, without their name. No account has id 0."""


def _author(store: Store, user_id: int | None) -> User:
    if user_id is None:
        return FORMER_MEMBER
    user = store.user_by_id(user_id)
    assert user is not None
    return user


def ideas(store: Store, team_id: int) -> list[Idea]:
    out: list[Idea] = []
    authors: dict[int, User] = {}

    def author(user_id: int | None) -> User:
        if user_id is None:
            return FORMER_MEMBER
        if user_id not in authors:
            authors[user_id] = _author(store, user_id)
        return authors[user_id]

    rows = store.conn.execute(
        "SELECT id, team_id, author_id, title, problem, change, created_at, withdrawn_at, hidden_reason, hidden_at"
        " FROM capstone_ideas WHERE team_id = ? ORDER BY id", (team_id,)).fetchall()
    by_id: dict[int, Idea] = {}
    for row in rows:
        idea = Idea(row[0], row[1], author(row[2]), *row[3:])
        out.append(idea)
        by_id[idea.id] = idea
    for row in store.conn.execute(
            "SELECT c.id, c.idea_id, c.author_id, c.body, c.created_at, c.hidden_reason, c.hidden_at"
            " FROM capstone_comments c JOIN capstone_ideas i ON i.id = c.idea_id WHERE i.team_id = ?"
            " ORDER BY c.id", (team_id,)):
        by_id[row[1]].comments.append(Comment(row[0], row[1], author(row[2]), *row[3:]))
    for idea_id, user_id, value in store.conn.execute(
            "SELECT v.idea_id, v.user_id, v.value FROM capstone_votes v JOIN capstone_ideas i ON i.id = v.idea_id"
            " WHERE i.team_id = ?", (team_id,)):
        by_id[idea_id].votes[user_id] = value
    return out


def idea(store: Store, team_id: int, idea_id: int) -> Idea | None:
    return next((i for i in ideas(store, team_id) if i.id == idea_id), None)


def add_idea(store: Store, team_id: int, author_id: int, *, title: str, problem: str, change: str) -> int:
    cursor = _in_tx(store).execute(
        "INSERT INTO capstone_ideas (team_id, author_id, title, problem, change, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (team_id, author_id, title, problem, change, now()))
    return int(cursor.lastrowid or 0)


def withdraw_idea(store: Store, idea_id: int) -> None:
    _in_tx(store).execute("UPDATE capstone_ideas SET withdrawn_at = ? WHERE id = ? AND withdrawn_at IS NULL",
                          (now(), idea_id))


def add_comment(store: Store, idea_id: int, author_id: int, body: str) -> int:
    cursor = _in_tx(store).execute(
        "INSERT INTO capstone_comments (idea_id, author_id, body, created_at) VALUES (?, ?, ?, ?)",
        (idea_id, author_id, body, now()))
    return int(cursor.lastrowid or 0)


def set_vote(store: Store, idea_id: int, user_id: int, value: int) -> None:
    _in_tx(store).execute(
        "INSERT INTO capstone_votes (idea_id, user_id, value, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (idea_id, user_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (idea_id, user_id, value, now()))


# --- moderation -----------------------------------------------------------------------------

HIDEABLE = {"idea": "capstone_ideas", "comment": "capstone_comments", "case_study": "capstone_case_studies"}


def hide(store: Store, kind: str, object_id: int, *, reason: str, by: int) -> bool:
    """Hide an item with a reason; it stays in the record. True when it was visible."""
    table = HIDEABLE[kind]  # a fixed table name, never user input
    return _in_tx(store).execute(
        f"UPDATE {table} SET hidden_reason = ?, hidden_by = ?, hidden_at = ? WHERE id = ? AND hidden_at IS NULL",  # noqa: S608
        (reason, by, now(), object_id)).rowcount == 1


def comment_team(store: Store, comment_id: int) -> int | None:
    row = store.conn.execute("SELECT i.team_id FROM capstone_comments c JOIN capstone_ideas i ON i.id = c.idea_id"
                             " WHERE c.id = ?", (comment_id,)).fetchone()
    return int(row[0]) if row else None


# --- decisions and confirmations ------------------------------------------------------------

def decisions(store: Store, team_id: int) -> list[Decision]:
    out = []
    for row in store.conn.execute(
            "SELECT id, team_id, proposed_by, change, reason, idea_ids, created_at, agreed_at FROM capstone_decisions"
            " WHERE team_id = ? ORDER BY id", (team_id,)):
        decision = Decision(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6], row[7])
        decision.confirmed_by = confirmations(store, "decision", decision.id)
        out.append(decision)
    return out


def add_decision(store: Store, team_id: int, proposer: int, *, change: str, reason: str, idea_ids: list[int]
                 ) -> int:
    cursor = _in_tx(store).execute(
        "INSERT INTO capstone_decisions (team_id, proposed_by, change, reason, idea_ids, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)", (team_id, proposer, change, reason, json.dumps(idea_ids), now()))
    return int(cursor.lastrowid or 0)


def mark_agreed(store: Store, decision_id: int) -> None:
    _in_tx(store).execute("UPDATE capstone_decisions SET agreed_at = ? WHERE id = ?", (now(), decision_id))


def confirm(store: Store, kind: str, object_id: int, user_id: int, version: int = 0) -> bool:
    return _in_tx(store).execute(
        "INSERT OR IGNORE INTO capstone_confirmations (kind, object_id, version, user_id, confirmed_at)"
        " VALUES (?, ?, ?, ?, ?)", (kind, object_id, version, user_id, now())).rowcount == 1


def confirmations(store: Store, kind: str, object_id: int, version: int = 0) -> list[int]:
    return [uid for (uid,) in store.conn.execute(
        "SELECT user_id FROM capstone_confirmations WHERE kind = ? AND object_id = ? AND version = ?"
        " ORDER BY confirmed_at", (kind, object_id, version))]


# --- plan, measures and measurements --------------------------------------------------------

def plan(store: Store, team_id: int) -> Plan | None:
    row = store.conn.execute("SELECT team_id, hypothesis, change, start_date, review_date, updated_at"
                             " FROM capstone_plans WHERE team_id = ?", (team_id,)).fetchone()
    return Plan(*row) if row else None


def save_plan(store: Store, team_id: int, by: int, *, hypothesis: str, change: str, start_date: str,
              review_date: str, measures: list[tuple[str, str, float]]) -> None:
    """Save the plan; measures are matched by name, so recorded measurements keep their measure."""
    conn = _in_tx(store)
    conn.execute(
        "INSERT INTO capstone_plans (team_id, hypothesis, change, start_date, review_date, updated_by, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (team_id) DO UPDATE SET hypothesis = excluded.hypothesis,"
        " change = excluded.change, start_date = excluded.start_date, review_date = excluded.review_date,"
        " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        (team_id, hypothesis, change, start_date, review_date, by, now()))
    for name, unit, baseline in measures:
        conn.execute("INSERT INTO capstone_measures (team_id, name, unit, baseline) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT (team_id, name) DO UPDATE SET unit = excluded.unit, baseline = excluded.baseline",
                     (team_id, name, unit, baseline))


def measures(store: Store, team_id: int) -> list[Measure]:
    return [Measure(*row) for row in store.conn.execute(
        "SELECT id, team_id, name, unit, baseline FROM capstone_measures WHERE team_id = ? ORDER BY id", (team_id,))]


def measurements(store: Store, team_id: int) -> list[Measurement]:
    return [Measurement(*row) for row in store.conn.execute(
        "SELECT m.id, m.measure_id, m.taken_on, m.value, m.note, m.recorded_by, m.created_at"
        " FROM capstone_measurements m JOIN capstone_measures s ON s.id = m.measure_id WHERE s.team_id = ?"
        " ORDER BY m.taken_on, m.id", (team_id,))]


def add_measurement(store: Store, measure_id: int, by: int, *, taken_on: str, value: float, note: str) -> int:
    cursor = _in_tx(store).execute(
        "INSERT INTO capstone_measurements (measure_id, taken_on, value, note, recorded_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)", (measure_id, taken_on, value, note, by, now()))
    return int(cursor.lastrowid or 0)


# --- reflections ----------------------------------------------------------------------------

def reflections(store: Store, team_id: int) -> list[Reflection]:
    return [Reflection(*row) for row in store.conn.execute(
        "SELECT team_id, user_id, worked, not_worked, advice, updated_at FROM capstone_reflections"
        " WHERE team_id = ? ORDER BY updated_at", (team_id,))]


def save_reflection(store: Store, team_id: int, user_id: int, *, worked: str, not_worked: str, advice: str) -> None:
    _in_tx(store).execute(
        "INSERT INTO capstone_reflections (team_id, user_id, worked, not_worked, advice, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (team_id, user_id) DO UPDATE SET worked = excluded.worked,"
        " not_worked = excluded.not_worked, advice = excluded.advice, updated_at = excluded.updated_at",
        (team_id, user_id, worked, not_worked, advice, now()))


# --- case studies ---------------------------------------------------------------------------

_CASE = ("SELECT id, team_id, title, problem, change, results, lessons, recommend, outcome, theme, version, status,"
         " updated_by, updated_at, submitted_at, published_at, hidden_reason, hidden_at FROM capstone_case_studies")


_GALLERY = ("SELECT c.id, c.team_id, c.title, c.problem, c.change, c.results, c.lessons, c.recommend, c.outcome,"
            " c.theme, c.version, c.status, c.updated_by, c.updated_at, c.submitted_at, c.published_at,"
            " c.hidden_reason, c.hidden_at FROM capstone_case_studies c")


def _case(store: Store, row: tuple[Any, ...] | None) -> CaseStudy | None:
    if row is None:
        return None
    case = CaseStudy(*row)
    case.confirmed_by = confirmations(store, "case_study", case.id, case.version)
    return case


def case_study(store: Store, team_id: int) -> CaseStudy | None:
    return _case(store, store.conn.execute(_CASE + " WHERE team_id = ?", (team_id,)).fetchone())


def case_study_by_id(store: Store, case_id: int) -> CaseStudy | None:
    return _case(store, store.conn.execute(_CASE + " WHERE id = ?", (case_id,)).fetchone())


def save_case_study(store: Store, team_id: int, by: int, values: dict[str, str], version: int) -> CaseStudy | None:
    """Save the draft when ``version`` is the stored one (0 for a new draft); None when someone saved first."""
    conn = _in_tx(store)
    current = case_study(store, team_id)
    cols = ", ".join(CASE_FIELDS)
    if current is None:
        if version != 0:
            return None
        conn.execute(f"INSERT INTO capstone_case_studies (team_id, {cols}, updated_by, updated_at)"  # noqa: S608
                     f" VALUES (?, {', '.join('?' for _ in CASE_FIELDS)}, ?, ?)",
                     (team_id, *(values[f] for f in CASE_FIELDS), by, now()))
    else:
        sets = ", ".join(f"{f} = ?" for f in CASE_FIELDS)
        changed = conn.execute(
            f"UPDATE capstone_case_studies SET {sets}, version = version + 1, updated_by = ?, updated_at = ?"  # noqa: S608
            " WHERE team_id = ? AND version = ? AND status = 'draft'",
            (*(values[f] for f in CASE_FIELDS), by, now(), team_id, version)).rowcount
        if changed != 1:
            return None
    return case_study(store, team_id)


def set_case_status(store: Store, case_id: int, status: str) -> None:
    column = {"submitted": "submitted_at", "published": "published_at"}[status]
    _in_tx(store).execute(f"UPDATE capstone_case_studies SET status = ?, {column} = ? WHERE id = ?",  # noqa: S608
                          (status, now(), case_id))


def gallery(store: Store, course_iri: str, *, text: str = "", department: str = "", outcome: str = "",
            theme: str = "") -> list[tuple[CaseStudy, Team]]:
    sql = (_GALLERY + " JOIN capstone_teams t ON t.id = c.team_id WHERE t.course_iri = ? AND c.status = 'published'"
           " AND c.hidden_at IS NULL")
    args: list[Any] = [course_iri]
    if department:
        sql += " AND t.department = ?"
        args.append(department)
    if outcome:
        sql += " AND c.outcome = ?"
        args.append(outcome)
    if theme:
        sql += " AND c.theme = ?"
        args.append(theme)
    if text.strip():
        for word in text.split()[:10]:
            like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            sql += (" AND (c.title LIKE ? ESCAPE '\\' OR c.problem LIKE ? ESCAPE '\\' OR c.change LIKE ? ESCAPE '\\'"
                    " OR c.results LIKE ? ESCAPE '\\' OR c.lessons LIKE ? ESCAPE '\\' OR t.name LIKE ? ESCAPE '\\')")
            args.extend([like] * 6)
    sql += " ORDER BY c.published_at DESC, c.id DESC"
    out = []
    for row in store.conn.execute(sql, args).fetchall():
        case = _case(store, row)
        owner = team(store, row[1])
        if case is not None and owner is not None:
            out.append((case, owner))
    return out


def kudos(store: Store, case_id: int) -> list[int]:
    return [uid for (uid,) in store.conn.execute(
        "SELECT user_id FROM capstone_kudos WHERE case_study_id = ? ORDER BY given_at", (case_id,))]


def give_kudos(store: Store, case_id: int, user_id: int) -> bool:
    return _in_tx(store).execute("INSERT OR IGNORE INTO capstone_kudos VALUES (?, ?, ?)",
                                 (case_id, user_id, now())).rowcount == 1


# --- completion -----------------------------------------------------------------------------

def completed_stages(store: Store, team_id: int) -> set[str]:
    return {sid for (sid,) in store.conn.execute(
        "SELECT stage_id FROM capstone_stage_completions WHERE team_id = ?", (team_id,))}


def complete_stage(store: Store, team_id: int, stage_id: str) -> bool:
    return _in_tx(store).execute("INSERT OR IGNORE INTO capstone_stage_completions VALUES (?, ?, ?)",
                                 (team_id, stage_id, now())).rowcount == 1


def record_completion(store: Store, user_id: int, course_iri: str, team_id: int) -> bool:
    return _in_tx(store).execute("INSERT OR IGNORE INTO capstone_completions VALUES (?, ?, ?, ?)",
                                 (user_id, course_iri, team_id, now())).rowcount == 1


def completion(store: Store, user_id: int, course_iri: str) -> str | None:
    """When the learner completed the course's capstone, or None."""
    row = store.conn.execute("SELECT completed_at FROM capstone_completions WHERE user_id = ? AND course_iri = ?",
                             (user_id, course_iri)).fetchone()
    return str(row[0]) if row else None


def export_user(conn: sqlite3.Connection, user_id: int) -> dict[str, list[dict[str, object]]]:
    """Everything a learner wrote or did in capstone teams, for their "my data" download."""
    def rows(sql: str) -> list[dict[str, object]]:
        cursor = conn.execute(sql, (user_id,))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    return {
        "teams": rows("SELECT t.name, t.department, t.course_iri, m.joined_at, m.left_at FROM capstone_members m"
                      " JOIN capstone_teams t ON t.id = m.team_id WHERE m.user_id = ? ORDER BY m.id"),
        "ideas": rows("SELECT title, problem, change, created_at, withdrawn_at, hidden_reason FROM capstone_ideas"
                      " WHERE author_id = ? ORDER BY id"),
        "comments": rows("SELECT body, created_at, hidden_reason FROM capstone_comments WHERE author_id = ?"
                         " ORDER BY id"),
        "votes": rows("SELECT i.title AS idea, v.value, v.updated_at FROM capstone_votes v"
                      " JOIN capstone_ideas i ON i.id = v.idea_id WHERE v.user_id = ?"),
        "reflections": rows("SELECT worked, not_worked, advice, updated_at FROM capstone_reflections"
                            " WHERE user_id = ?"),
        "confirmations": rows("SELECT kind, version, confirmed_at FROM capstone_confirmations WHERE user_id = ?"),
        "kudos": rows("SELECT c.title AS case_study FROM capstone_kudos k"
                      " JOIN capstone_case_studies c ON c.id = k.case_study_id WHERE k.user_id = ?"),
    }
