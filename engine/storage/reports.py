"""The queries behind reports: tallies kept by triggers (migration 5), learner lists, and case study outcomes.

Tally keys, counted per course, the learner's department and the day they enrolled (their cohort):

- ``enrolled``, ``started`` (opened any lesson);
- ``lesson:<IRI>``, ``module:<IRI>``, ``course:<IRI>``: completions;
- ``days:<n>``: course completions n whole days after enrolling;
- ``first:<question IRI>``, ``wrong:<question IRI>``: first attempts, and those that were wrong;
- ``poll:<poll IRI>=<value>``: the learners whose current answer to a poll includes the value;
- ``teams``, ``stage:<stage id>``, ``published:<outcome>``: capstone teams formed, stages completed and case
  studies published (and not hidden), per team department and the day the team was formed.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .db import Store
from .migrations import split_statements
from .records import LAST_SEEN
from .report_tallies import CASE_STUDY_BACKFILL, REPORT_BACKFILL

Tallies = dict[str, dict[str, int]]
"""department -> key -> count."""


@dataclass(frozen=True)
class Period:
    """An inclusive range of enrolment days; either end may be open."""

    since: date | None = None
    until: date | None = None


def _month_end(day: date) -> date:
    if day.month == 12:
        return day.replace(day=31)
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def _spans(period: Period) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The period as (first, last) ranges of whole months and of single days, so that most of a long period is
    read from the month tallies and only its ragged ends from the day tallies."""
    if period.since is None and period.until is None:
        return [("0000-00", "9999-99")], []
    since = period.since or date(1, 1, 1)
    until = period.until or date(9999, 12, 31)  # a month end, so an open end reads only month tallies
    if since > until:
        return [], []
    months: list[tuple[str, str]] = []
    days: list[tuple[str, str]] = []
    first_whole = since if since.day == 1 else _month_end(since) + timedelta(days=1)
    last_whole = until if until == _month_end(until) else until.replace(day=1) - timedelta(days=1)
    if first_whole > last_whole:
        return [], [(since.isoformat(), until.isoformat())]
    if since < first_whole:
        days.append((since.isoformat(), (first_whole - timedelta(days=1)).isoformat()))
    months.append((first_whole.isoformat()[:7], last_whole.isoformat()[:7]))
    if last_whole < until:
        days.append(((last_whole + timedelta(days=1)).isoformat(), until.isoformat()))
    return months, days


def tallies(store: Store, course_iri: str, *, department: str | None = None, period: Period = Period()
            ) -> Tallies:
    """Every tally of a course, per department, for learners who enrolled in ``period``."""
    out: Tallies = defaultdict(lambda: defaultdict(int))
    where_department = " AND department = ?" if department is not None else ""
    extra: tuple[Any, ...] = (department,) if department is not None else ()
    if period.since is None and period.until is None:
        queries = [("SELECT department, key, n FROM report_totals WHERE course_iri = ?" + where_department,  # noqa: S608
                    (course_iri, *extra))]
    else:
        months, days = _spans(period)
        queries = [(f"SELECT department, key, SUM(n) FROM {table} WHERE course_iri = ?"  # noqa: S608
                    f" AND period BETWEEN ? AND ?{where_department} GROUP BY department, key",
                    (course_iri, first, last, *extra))
                   for table, spans in (("report_months", months), ("report_days", days)) for first, last in spans]
    for sql, args in queries:
        for dept, key, n in store.conn.execute(sql, args):
            if n:
                out[dept][key] += int(n)
    return {dept: dict(keys) for dept, keys in out.items()}


def rebuild(store: Store) -> None:
    """Count every tally again from the records (after a repair or a restore from an old backup)."""
    # Its GROUP BYs sort every record: in temporary files, not in memory as the store's small actions are.
    store.conn.execute("PRAGMA temp_store=FILE")
    try:
        with store.transaction() as conn:
            for table in ("report_enrolments", "report_days", "report_months", "report_totals"):
                conn.execute(f"DELETE FROM {table}")  # noqa: S608
            for statement in split_statements(REPORT_BACKFILL + CASE_STUDY_BACKFILL):
                conn.execute(statement)
    finally:
        store.conn.execute("PRAGMA temp_store=MEMORY")


# --- learners ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LearnerFilter:
    course_iri: str
    department: str | None = None
    search: str = ""
    """Part of a name or an email address."""
    status: str = ""
    """"", "not_started", "in_progress" or "completed"."""
    period: Period = Period()


LEARNER_COLUMNS = ("public_id", "name", "email", "department", "enrolled_at", "last_seen_at", "lessons_completed",
                   "completed_at")


def _learner_query(flt: LearnerFilter) -> tuple[str, list[Any]]:
    sql = (
        f"SELECT u.public_id, u.name, u.email, u.department, e.created_at, {LAST_SEEN},"  # noqa: S608
        " (SELECT COUNT(*) FROM completions c WHERE c.enrolment_id = e.id AND c.kind = 'lesson'),"
        " (SELECT completed_at FROM completions c WHERE c.enrolment_id = e.id AND c.object_iri = e.course_iri)"
        " FROM enrolments e JOIN users u ON u.id = e.user_id WHERE e.course_iri = ?"
    )
    args: list[Any] = [flt.course_iri]
    if flt.department is not None:
        sql += " AND u.department = ?"
        args.append(flt.department)
    if flt.search.strip():
        needle = "%" + flt.search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql += " AND (u.name LIKE ? ESCAPE '\\' OR u.email LIKE ? ESCAPE '\\')"
        args += [needle, needle]
    if flt.period.since is not None:
        sql += " AND substr(e.created_at, 1, 10) >= ?"
        args.append(flt.period.since.isoformat())
    if flt.period.until is not None:
        sql += " AND substr(e.created_at, 1, 10) <= ?"
        args.append(flt.period.until.isoformat())
    completed = "EXISTS (SELECT 1 FROM completions c WHERE c.enrolment_id = e.id AND c.object_iri = e.course_iri)"
    started = "EXISTS (SELECT 1 FROM lesson_views v WHERE v.enrolment_id = e.id)"
    if flt.status == "completed":
        sql += f" AND {completed}"
    elif flt.status == "in_progress":
        sql += f" AND {started} AND NOT {completed}"
    elif flt.status == "not_started":
        sql += f" AND NOT {started}"
    return sql, args


def learners(store: Store, flt: LearnerFilter, *, offset: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """One page of learners, most recently enrolled first, and whether there is another page."""
    sql, args = _learner_query(flt)
    rows = store.conn.execute(sql + " ORDER BY e.id DESC LIMIT ? OFFSET ?", (*args, limit + 1, offset)).fetchall()
    return [dict(zip(LEARNER_COLUMNS, row, strict=True)) for row in rows[:limit]], len(rows) > limit


def iter_learners(path: str, flt: LearnerFilter, *, batch: int = 2000) -> Iterator[list[tuple[Any, ...]]]:
    """Every matching learner, in batches, from a read-only connection of its own: an export of every learner
    streams through a small window of memory and never holds the writers' connection."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    try:
        conn.execute("PRAGMA query_only=ON")
        sql, args = _learner_query(flt)
        cursor = conn.execute(sql + " ORDER BY e.id", args)
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        conn.close()


def learner_by_public_id(store: Store, public_id: str) -> tuple[int, str] | None:
    """(user id, department) of a learner, for the drill-down's access check."""
    row = store.conn.execute("SELECT id, department FROM users WHERE public_id = ?", (public_id,)).fetchone()
    return (int(row[0]), str(row[1])) if row else None
