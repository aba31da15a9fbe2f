"""The SQL of the report tallies: the triggers that keep them (migrations 5 and 7) and the backfill that counts
them from the records (those migrations, and ``reports.rebuild``). Shipped migrations include it as it was; a change
to a trigger is a new migration."""

from __future__ import annotations

# The report tallies (migration 5) count, per course, department, day and key, what the records say. Each
# enrolment is counted in its cohort: the department and the day of the enrolment. The keys are documented in
# engine/storage/reports.py. An enrolment's tallies are taken away before it is deleted (account deletion,
# the preview's reset), while its records are still there to count.
REPORT_TRIGGERS = """
    CREATE TRIGGER report_enrolled AFTER INSERT ON enrolments BEGIN
        INSERT INTO report_enrolments SELECT NEW.id, NEW.course_iri, u.department, substr(NEW.created_at, 1, 10)
            FROM users u WHERE u.id = NEW.user_id;
        INSERT INTO report_bump SELECT course_iri, department, day, 'enrolled', 1 FROM report_enrolments
            WHERE enrolment_id = NEW.id;
    END;
    CREATE TRIGGER report_started AFTER INSERT ON lesson_views
        WHEN (SELECT COUNT(*) FROM lesson_views WHERE enrolment_id = NEW.enrolment_id) = 1 BEGIN
        INSERT INTO report_bump SELECT course_iri, department, day, 'started', 1 FROM report_enrolments
            WHERE enrolment_id = NEW.enrolment_id;
    END;
    CREATE TRIGGER report_completed AFTER INSERT ON completions BEGIN
        INSERT INTO report_bump SELECT course_iri, department, day, NEW.kind || ':' || NEW.object_iri, 1
            FROM report_enrolments WHERE enrolment_id = NEW.enrolment_id;
        INSERT INTO report_bump SELECT r.course_iri, r.department, r.day, 'days:'
                || CAST(julianday(NEW.completed_at) - julianday(e.created_at) AS INTEGER), 1
            FROM report_enrolments r JOIN enrolments e ON e.id = r.enrolment_id
            WHERE r.enrolment_id = NEW.enrolment_id AND NEW.kind = 'course';
    END;
    CREATE TRIGGER report_first_attempt AFTER INSERT ON attempts WHEN NEW.attempt_no = 1 BEGIN
        INSERT INTO report_bump SELECT course_iri, department, day, 'first:' || NEW.block_iri, 1
            FROM report_enrolments WHERE enrolment_id = NEW.enrolment_id;
        INSERT INTO report_bump SELECT course_iri, department, day, 'wrong:' || NEW.block_iri, 1
            FROM report_enrolments WHERE enrolment_id = NEW.enrolment_id AND NOT NEW.success;
    END;
    CREATE TRIGGER report_poll_insert AFTER INSERT ON responses WHEN NEW.kind = 'poll' BEGIN
        INSERT INTO report_bump SELECT r.course_iri, r.department, r.day, 'poll:' || NEW.block_iri || '=' || j.value, 1
            FROM report_enrolments r, json_each(NEW.value) j WHERE r.enrolment_id = NEW.enrolment_id;
    END;
    CREATE TRIGGER report_poll_update AFTER UPDATE OF value ON responses WHEN NEW.kind = 'poll' BEGIN
        INSERT INTO report_bump SELECT r.course_iri, r.department, r.day, 'poll:' || OLD.block_iri || '=' || j.value, -1
            FROM report_enrolments r, json_each(OLD.value) j WHERE r.enrolment_id = OLD.enrolment_id;
        INSERT INTO report_bump SELECT r.course_iri, r.department, r.day, 'poll:' || NEW.block_iri || '=' || j.value, 1
            FROM report_enrolments r, json_each(NEW.value) j WHERE r.enrolment_id = NEW.enrolment_id;
    END;
    CREATE TRIGGER report_unenrolled BEFORE DELETE ON enrolments BEGIN
        INSERT INTO report_bump SELECT course_iri, department, day, key, -n FROM (
            SELECT 'enrolled' AS key, 1 AS n
            UNION ALL SELECT 'started', 1 WHERE EXISTS (SELECT 1 FROM lesson_views WHERE enrolment_id = OLD.id)
            UNION ALL SELECT kind || ':' || object_iri, 1 FROM completions WHERE enrolment_id = OLD.id
            UNION ALL SELECT 'days:' || CAST(julianday(completed_at) - julianday(OLD.created_at) AS INTEGER), 1
                FROM completions WHERE enrolment_id = OLD.id AND kind = 'course'
            UNION ALL SELECT 'first:' || block_iri, 1 FROM attempts WHERE enrolment_id = OLD.id AND attempt_no = 1
            UNION ALL SELECT 'wrong:' || block_iri, 1 FROM attempts
                WHERE enrolment_id = OLD.id AND attempt_no = 1 AND NOT success
            UNION ALL SELECT 'poll:' || block_iri || '=' || j.value, 1 FROM responses, json_each(responses.value) j
                WHERE enrolment_id = OLD.id AND kind = 'poll'
        ), report_enrolments WHERE enrolment_id = OLD.id;
        DELETE FROM report_enrolments WHERE enrolment_id = OLD.id;
    END;
    CREATE TRIGGER report_team AFTER INSERT ON capstone_teams BEGIN
        INSERT INTO report_bump VALUES (NEW.course_iri, NEW.department, substr(NEW.created_at, 1, 10), 'teams', 1);
    END;
    CREATE TRIGGER report_stage AFTER INSERT ON capstone_stage_completions BEGIN
        INSERT INTO report_bump SELECT course_iri, department, substr(created_at, 1, 10), 'stage:' || NEW.stage_id, 1
            FROM capstone_teams WHERE id = NEW.team_id;
    END;
"""

# Counts what is already recorded, for a database made before migration 5 (and `masterclass reports rebuild`).
REPORT_BACKFILL = """
    INSERT INTO report_enrolments SELECT e.id, e.course_iri, u.department, substr(e.created_at, 1, 10)
        FROM enrolments e JOIN users u ON u.id = e.user_id;
    INSERT INTO report_bump SELECT course_iri, department, day, 'enrolled', COUNT(*) FROM report_enrolments
        GROUP BY course_iri, department, day;
    INSERT INTO report_bump SELECT r.course_iri, r.department, r.day, 'started', COUNT(*) FROM report_enrolments r
        WHERE EXISTS (SELECT 1 FROM lesson_views v WHERE v.enrolment_id = r.enrolment_id)
        GROUP BY r.course_iri, r.department, r.day;
    INSERT INTO report_bump SELECT r.course_iri, r.department, r.day, c.kind || ':' || c.object_iri, COUNT(*)
        FROM completions c JOIN report_enrolments r ON r.enrolment_id = c.enrolment_id
        GROUP BY r.course_iri, r.department, r.day, c.kind, c.object_iri;
    INSERT INTO report_bump SELECT r.course_iri, r.department, r.day,
            'days:' || CAST(julianday(c.completed_at) - julianday(e.created_at) AS INTEGER) AS key, COUNT(*)
        FROM completions c JOIN report_enrolments r ON r.enrolment_id = c.enrolment_id
        JOIN enrolments e ON e.id = c.enrolment_id WHERE c.kind = 'course'
        GROUP BY r.course_iri, r.department, r.day, key;
    INSERT INTO report_bump SELECT r.course_iri, r.department, r.day, 'first:' || a.block_iri, COUNT(*)
        FROM attempts a JOIN report_enrolments r ON r.enrolment_id = a.enrolment_id WHERE a.attempt_no = 1
        GROUP BY r.course_iri, r.department, r.day, a.block_iri;
    INSERT INTO report_bump SELECT r.course_iri, r.department, r.day, 'wrong:' || a.block_iri, COUNT(*)
        FROM attempts a JOIN report_enrolments r ON r.enrolment_id = a.enrolment_id
        WHERE a.attempt_no = 1 AND NOT a.success
        GROUP BY r.course_iri, r.department, r.day, a.block_iri;
    INSERT INTO report_bump SELECT r.course_iri, r.department, r.day, 'poll:' || p.block_iri || '=' || j.value,
            COUNT(*)
        FROM responses p JOIN report_enrolments r ON r.enrolment_id = p.enrolment_id, json_each(p.value) j
        WHERE p.kind = 'poll' GROUP BY r.course_iri, r.department, r.day, p.block_iri, j.value;
    INSERT INTO report_bump SELECT course_iri, department, substr(created_at, 1, 10), 'teams', COUNT(*)
        FROM capstone_teams GROUP BY course_iri, department, substr(created_at, 1, 10);
    INSERT INTO report_bump SELECT t.course_iri, t.department, substr(t.created_at, 1, 10), 'stage:' || s.stage_id,
            COUNT(*)
        FROM capstone_stage_completions s JOIN capstone_teams t ON t.id = s.team_id
        GROUP BY t.course_iri, t.department, substr(t.created_at, 1, 10), s.stage_id;
"""

# Published case studies by outcome (migration 7), per the team's department and the day it formed: a case study
# counts while it is published and not hidden by a moderator.
CASE_STUDY_TRIGGERS = """
    CREATE TRIGGER report_case_study_insert AFTER INSERT ON capstone_case_studies
        WHEN NEW.status = 'published' AND NEW.hidden_at IS NULL BEGIN
        INSERT INTO report_bump SELECT course_iri, department, substr(created_at, 1, 10), 'published:' || NEW.outcome, 1
            FROM capstone_teams WHERE id = NEW.team_id;
    END;
    CREATE TRIGGER report_case_study_update AFTER UPDATE OF status, hidden_at, outcome ON capstone_case_studies BEGIN
        INSERT INTO report_bump SELECT course_iri, department, substr(created_at, 1, 10),
                'published:' || OLD.outcome, -1
            FROM capstone_teams WHERE id = OLD.team_id AND OLD.status = 'published' AND OLD.hidden_at IS NULL;
        INSERT INTO report_bump SELECT course_iri, department, substr(created_at, 1, 10),
                'published:' || NEW.outcome, 1
            FROM capstone_teams WHERE id = NEW.team_id AND NEW.status = 'published' AND NEW.hidden_at IS NULL;
    END;
    CREATE TRIGGER report_case_study_delete AFTER DELETE ON capstone_case_studies
        WHEN OLD.status = 'published' AND OLD.hidden_at IS NULL BEGIN
        INSERT INTO report_bump SELECT course_iri, department, substr(created_at, 1, 10),
                'published:' || OLD.outcome, -1
            FROM capstone_teams WHERE id = OLD.team_id;
    END;
"""

CASE_STUDY_BACKFILL = """
    INSERT INTO report_bump SELECT t.course_iri, t.department, substr(t.created_at, 1, 10), 'published:' || cs.outcome,
            COUNT(*)
        FROM capstone_case_studies cs JOIN capstone_teams t ON t.id = cs.team_id
        WHERE cs.status = 'published' AND cs.hidden_at IS NULL
        GROUP BY t.course_iri, t.department, substr(t.created_at, 1, 10), cs.outcome;
"""


def _bump(key: str, *, source: str = "report_enrolments r", where: str = "r.enrolment_id = NEW.enrolment_id",
          n: str = "1") -> str:
    """The three upserts ``report_bump``'s INSTEAD OF trigger makes, written out for a trigger's body: ``source``
    (aliasing report_enrolments as ``r``) gives the cohort, ``key`` and ``n`` the tally and how much it moves.

    Inserting into the view makes SQLite first copy the SELECT's rows into a temporary table, and then run the
    INSTEAD OF trigger for each: about 20 µs for every bump, even one that selects no row."""
    # Constants of this module only, never input: the SQL of a migration.
    days = f"SELECT r.course_iri, r.department, r.day, {key}, {n} FROM {source} WHERE {where}"  # noqa: S608
    months = f"SELECT r.course_iri, r.department, substr(r.day, 1, 7), {key}, {n} FROM {source} WHERE {where}"  # noqa: S608
    totals = f"SELECT r.course_iri, r.department, {key}, {n} FROM {source} WHERE {where}"  # noqa: S608
    return f"""
        INSERT INTO report_days {days} ON CONFLICT DO UPDATE SET n = n + excluded.n;
        INSERT INTO report_months {months} ON CONFLICT DO UPDATE SET n = n + excluded.n;
        INSERT INTO report_totals {totals} ON CONFLICT DO UPDATE SET n = n + excluded.n;"""  # noqa: S608


_POLL = "report_enrolments r, json_each({row}.value) j"
_POLL_KEY = "'poll:' || {row}.block_iri || '=' || j.value"

# The triggers learner actions fire (migration 14), counting what migration 5's did: they write the tallies
# themselves rather than through the view, and a bump that applies only sometimes has a trigger of its own with a
# WHEN, so the other actions skip it. A first attempt at a question cost about 70 µs of tallies, a later one none.
# A learner has started once their first lesson view is stored: no other view of theirs exists (migration 5
# counted all their views for every new one).
HOT_REPORT_TRIGGERS = f"""
    DROP TRIGGER report_started;
    DROP TRIGGER report_completed;
    DROP TRIGGER report_first_attempt;
    DROP TRIGGER report_poll_insert;
    DROP TRIGGER report_poll_update;
    CREATE TRIGGER report_started AFTER INSERT ON lesson_views WHEN NOT EXISTS (
            SELECT 1 FROM lesson_views WHERE enrolment_id = NEW.enrolment_id AND lesson_iri != NEW.lesson_iri) BEGIN
        {_bump("'started'")}
    END;
    CREATE TRIGGER report_completed AFTER INSERT ON completions BEGIN
        {_bump("NEW.kind || ':' || NEW.object_iri")}
    END;
    CREATE TRIGGER report_course_days AFTER INSERT ON completions WHEN NEW.kind = 'course' BEGIN
        {_bump("'days:' || CAST(julianday(NEW.completed_at) - julianday(e.created_at) AS INTEGER)",
               source="report_enrolments r JOIN enrolments e ON e.id = r.enrolment_id")}
    END;
    CREATE TRIGGER report_first_attempt AFTER INSERT ON attempts WHEN NEW.attempt_no = 1 BEGIN
        {_bump("'first:' || NEW.block_iri")}
    END;
    CREATE TRIGGER report_wrong_first_attempt AFTER INSERT ON attempts WHEN NEW.attempt_no = 1 AND NOT NEW.success
        BEGIN
        {_bump("'wrong:' || NEW.block_iri")}
    END;
    CREATE TRIGGER report_poll_insert AFTER INSERT ON responses WHEN NEW.kind = 'poll' BEGIN
        {_bump(_POLL_KEY.format(row="NEW"), source=_POLL.format(row="NEW"))}
    END;
    CREATE TRIGGER report_poll_update AFTER UPDATE OF value ON responses WHEN NEW.kind = 'poll' BEGIN
        {_bump(_POLL_KEY.format(row="OLD"), source=_POLL.format(row="OLD"), where="r.enrolment_id = OLD.enrolment_id",
               n="-1")}
        {_bump(_POLL_KEY.format(row="NEW"), source=_POLL.format(row="NEW"))}
    END;
"""  # noqa: S608 - constants, no input
