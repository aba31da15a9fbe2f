"""Versioned schema migrations, applied in order at start. Never edit one that has shipped: add another."""

from __future__ import annotations

import sqlite3

from .capstone_schema import CAPSTONE_TABLES, FORMER_MEMBERS_KEEP_IDEAS
from .report_tallies import (
    CASE_STUDY_BACKFILL,
    CASE_STUDY_TRIGGERS,
    HOT_REPORT_TRIGGERS,
    REPORT_BACKFILL,
    REPORT_TRIGGERS,
)

MIGRATIONS: list[str] = [
    # 1: accounts, sessions, enrolments and learning records
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        public_id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        department TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT 'learner' CHECK (role IN ('learner', 'facilitator', 'admin')),
        created_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        seen_at TEXT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE enrolments (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        course_iri TEXT NOT NULL,
        registration TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        last_lesson_iri TEXT,
        last_seen_at TEXT,
        UNIQUE (user_id, course_iri)
    );
    CREATE INDEX enrolments_course ON enrolments(course_iri);
    CREATE TABLE lesson_views (
        enrolment_id INTEGER NOT NULL REFERENCES enrolments(id) ON DELETE CASCADE,
        lesson_iri TEXT NOT NULL,
        first_at TEXT NOT NULL,
        last_at TEXT NOT NULL,
        views INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (enrolment_id, lesson_iri)
    ) WITHOUT ROWID;
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        enrolment_id INTEGER NOT NULL REFERENCES enrolments(id) ON DELETE CASCADE,
        block_iri TEXT NOT NULL,
        lesson_iri TEXT NOT NULL,
        attempt_no INTEGER NOT NULL,
        response TEXT NOT NULL,
        score REAL NOT NULL,
        success INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (enrolment_id, block_iri, attempt_no)
    );
    CREATE TABLE responses (
        enrolment_id INTEGER NOT NULL REFERENCES enrolments(id) ON DELETE CASCADE,
        block_iri TEXT NOT NULL,
        lesson_iri TEXT NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (enrolment_id, block_iri)
    ) WITHOUT ROWID;
    CREATE INDEX responses_block ON responses(block_iri);
    CREATE TABLE completions (
        enrolment_id INTEGER NOT NULL REFERENCES enrolments(id) ON DELETE CASCADE,
        object_iri TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('lesson', 'module', 'course')),
        completed_at TEXT NOT NULL,
        score REAL,
        PRIMARY KEY (enrolment_id, object_iri)
    ) WITHOUT ROWID;
    """,
    # 2: the built-in Learning Record Store and delivery to external LRSs
    """
    CREATE TABLE statements (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        stored TEXT NOT NULL,
        timestamp TEXT NOT NULL,
        verb TEXT NOT NULL,
        actor TEXT NOT NULL,
        object_activity TEXT,
        object_statement TEXT,
        registration TEXT,
        voided INTEGER NOT NULL DEFAULT 0,
        body TEXT NOT NULL
    );
    CREATE INDEX statements_verb ON statements(verb, seq);
    CREATE INDEX statements_actor ON statements(actor, seq);
    CREATE INDEX statements_activity ON statements(object_activity, seq);
    CREATE INDEX statements_registration ON statements(registration, seq);
    CREATE INDEX statements_stored ON statements(stored);
    CREATE INDEX statements_target ON statements(object_statement);
    CREATE TABLE statement_activities (
        activity TEXT NOT NULL,
        seq INTEGER NOT NULL REFERENCES statements(seq) ON DELETE CASCADE,
        PRIMARY KEY (activity, seq)
    ) WITHOUT ROWID;
    CREATE TABLE statement_agents (
        agent TEXT NOT NULL,
        seq INTEGER NOT NULL REFERENCES statements(seq) ON DELETE CASCADE,
        PRIMARY KEY (agent, seq)
    ) WITHOUT ROWID;
    CREATE TABLE statement_attachments (
        seq INTEGER NOT NULL REFERENCES statements(seq) ON DELETE CASCADE,
        sha2 TEXT NOT NULL,
        PRIMARY KEY (seq, sha2)
    ) WITHOUT ROWID;
    CREATE TABLE attachments (
        sha2 TEXT PRIMARY KEY,
        content_type TEXT NOT NULL,
        body BLOB NOT NULL
    );
    CREATE TABLE lrs_credentials (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        secret_hash TEXT NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('read', 'write', 'all')),
        created_at TEXT NOT NULL
    );
    CREATE TABLE documents (
        kind TEXT NOT NULL CHECK (kind IN ('state', 'activity_profile', 'agent_profile')),
        activity TEXT NOT NULL DEFAULT '',
        agent TEXT NOT NULL DEFAULT '',
        registration TEXT NOT NULL DEFAULT '',
        doc_id TEXT NOT NULL,
        content_type TEXT NOT NULL,
        body BLOB NOT NULL,
        etag TEXT NOT NULL,
        updated TEXT NOT NULL,
        PRIMARY KEY (kind, activity, agent, registration, doc_id)
    ) WITHOUT ROWID;
    CREATE TABLE outbox (
        endpoint TEXT NOT NULL,
        seq INTEGER NOT NULL REFERENCES statements(seq) ON DELETE CASCADE,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at TEXT NOT NULL,
        last_error TEXT,
        PRIMARY KEY (endpoint, seq)
    ) WITHOUT ROWID;
    CREATE INDEX outbox_due ON outbox(endpoint, next_at);
    CREATE TABLE dead_letters (
        endpoint TEXT NOT NULL,
        seq INTEGER NOT NULL REFERENCES statements(seq) ON DELETE CASCADE,
        failed_at TEXT NOT NULL,
        status INTEGER,
        error TEXT NOT NULL,
        PRIMARY KEY (endpoint, seq)
    ) WITHOUT ROWID;
    CREATE TABLE session_events (
        token_hash TEXT NOT NULL REFERENCES sessions(token_hash) ON DELETE CASCADE,
        object_iri TEXT NOT NULL,
        PRIMARY KEY (token_hash, object_iri)
    ) WITHOUT ROWID;
    CREATE TABLE delivery_status (
        endpoint TEXT PRIMARY KEY,
        last_success_at TEXT,
        last_error TEXT,
        last_error_at TEXT
    );
    """,
    # 3: the capstone team project: teams, ideas, decisions, plans, measurements, reflections, case studies
    CAPSTONE_TABLES,
    # 4: poll tallies kept by triggers, so showing a poll's results never scans every learner's answer
    """
    CREATE TABLE poll_tallies (
        block_iri TEXT NOT NULL,
        value TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (block_iri, value)
    ) WITHOUT ROWID;
    INSERT INTO poll_tallies
        SELECT r.block_iri, j.value, COUNT(*) FROM responses r, json_each(r.value) j
        WHERE r.kind = 'poll' GROUP BY r.block_iri, j.value;
    CREATE TRIGGER poll_tally_insert AFTER INSERT ON responses WHEN NEW.kind = 'poll' BEGIN
        INSERT INTO poll_tallies SELECT NEW.block_iri, j.value, 1 FROM json_each(NEW.value) j WHERE true
            ON CONFLICT (block_iri, value) DO UPDATE SET count = count + 1;
    END;
    CREATE TRIGGER poll_tally_update AFTER UPDATE OF value ON responses WHEN NEW.kind = 'poll' BEGIN
        UPDATE poll_tallies SET count = count - 1
            WHERE block_iri = OLD.block_iri AND value IN (SELECT value FROM json_each(OLD.value));
        INSERT INTO poll_tallies SELECT NEW.block_iri, j.value, 1 FROM json_each(NEW.value) j WHERE true
            ON CONFLICT (block_iri, value) DO UPDATE SET count = count + 1;
    END;
    CREATE TRIGGER poll_tally_delete AFTER DELETE ON responses WHEN OLD.kind = 'poll' BEGIN
        UPDATE poll_tallies SET count = count - 1
            WHERE block_iri = OLD.block_iri AND value IN (SELECT value FROM json_each(OLD.value));
    END;
    """,
    # 5: report tallies kept by triggers, so dashboards read a few thousand counts instead of millions of records:
    # per day, per month (most of a date range) and in total (no date range)
    """
    CREATE TABLE report_enrolments (
        enrolment_id INTEGER PRIMARY KEY,
        course_iri TEXT NOT NULL,
        department TEXT NOT NULL,
        day TEXT NOT NULL
    );
    CREATE TABLE report_days (
        course_iri TEXT NOT NULL,
        department TEXT NOT NULL,
        period TEXT NOT NULL,
        key TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (course_iri, period, department, key)
    ) WITHOUT ROWID;
    CREATE TABLE report_months (
        course_iri TEXT NOT NULL,
        department TEXT NOT NULL,
        period TEXT NOT NULL,
        key TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (course_iri, period, department, key)
    ) WITHOUT ROWID;
    CREATE TABLE report_totals (
        course_iri TEXT NOT NULL,
        department TEXT NOT NULL,
        key TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (course_iri, department, key)
    ) WITHOUT ROWID;
    CREATE VIEW report_bump (course_iri, department, day, key, n) AS
        SELECT course_iri, department, period, key, n FROM report_days;
    CREATE TRIGGER report_bump_insert INSTEAD OF INSERT ON report_bump BEGIN
        INSERT INTO report_days VALUES (NEW.course_iri, NEW.department, NEW.day, NEW.key, NEW.n)
            ON CONFLICT DO UPDATE SET n = n + excluded.n;
        INSERT INTO report_months VALUES (NEW.course_iri, NEW.department, substr(NEW.day, 1, 7), NEW.key, NEW.n)
            ON CONFLICT DO UPDATE SET n = n + excluded.n;
        INSERT INTO report_totals VALUES (NEW.course_iri, NEW.department, NEW.key, NEW.n)
            ON CONFLICT DO UPDATE SET n = n + excluded.n;
    END;
    """ + REPORT_TRIGGERS + REPORT_BACKFILL,  # noqa: S608 - constants, no input
    # 6: certificates. What was printed (name, course and certificate titles, signatory) is kept as at issue, so a
    # certificate reads the same however the course or the account changes later; revocation is recorded, never
    # deleted, so the public verification page can say that it was revoked.
    """
    CREATE TABLE certificates (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        course_iri TEXT NOT NULL,
        name TEXT NOT NULL,
        course_title TEXT NOT NULL,
        title TEXT NOT NULL,
        signed_by TEXT,
        issued_at TEXT NOT NULL,
        revoked_at TEXT,
        revoked_by TEXT,
        revoked_reason TEXT,
        UNIQUE (user_id, course_iri),
        CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
    );
    CREATE INDEX certificates_issued ON certificates(issued_at);
    """,
    # 7: published case studies by outcome join the report tallies (counting them per request took 100 ms at scale)
    CASE_STUDY_TRIGGERS + CASE_STUDY_BACKFILL,
    # 8: the LRS's agent index by verb. statement_actors holds, for each statement, the agents its `agent` query
    # parameter matches without related_agents (the actor, an Agent or Group object, and their members) with
    # the statement's verb, so an agent+verb query reads only the statements that match. It replaces the
    # statements_actor index, which no query used (statement_agents drives agent queries) and which cost every
    # write an index entry at a scattered place. Existing statements are filled in from statement_agents: the
    # actor's own entry, and every entry of a statement with a Group actor or an Agent or Group object (a
    # superset: queries check each statement's actor and object anyway). statements_target keeps only the
    # statements that target another (StatementRefs, a few in a thousand): every other write added a NULL entry.
    """
    DROP INDEX statements_actor;
    DROP INDEX statements_target;
    CREATE INDEX statements_target ON statements(object_statement) WHERE object_statement IS NOT NULL;
    CREATE TABLE statement_actors (
        agent TEXT NOT NULL,
        verb TEXT NOT NULL,
        seq INTEGER NOT NULL REFERENCES statements(seq) ON DELETE CASCADE,
        PRIMARY KEY (agent, verb, seq)
    ) WITHOUT ROWID;
    INSERT INTO statement_actors (agent, verb, seq)
        SELECT a.agent, s.verb, a.seq FROM statement_agents a CROSS JOIN statements s ON s.seq = a.seq
        WHERE a.agent = s.actor OR (s.object_activity IS NULL AND s.object_statement IS NULL)
            OR instr(s.body, '"Group"') > 0
        ORDER BY 1, 2, 3;
    """,
    # 9: the LRS's index tables hold numbers, not text. Each verb IRI, activity IRI, agent key and registration
    # they refer to is stored once in lrs_terms and numbered; an index entry holds its number (one to three
    # bytes) instead of the text (36 to 100 bytes). A write adds about nine entries at scattered places; with
    # the indexes a fifth to a tenth of their size in pages, a group of writes dirties, logs and checkpoints
    # far fewer pages, and more of the indexes stays in the page cache. The statements
    # table keeps its text columns, so every query still checks the exact values on the statement it reads.
    # The verb, object activity and registration indexes of the statements table become tables of their own
    # (filled from those indexes, without reading the statements); a trigger deletes their rows with the
    # statement. Terms are never deleted, so a number always means the same term.
    """
    CREATE TABLE lrs_terms (
        id INTEGER PRIMARY KEY,
        term TEXT NOT NULL UNIQUE
    );
    INSERT INTO lrs_terms (term)
        SELECT verb FROM statements INDEXED BY statements_verb
        UNION SELECT object_activity FROM statements INDEXED BY statements_activity WHERE object_activity IS NOT NULL
        UNION SELECT registration FROM statements INDEXED BY statements_registration WHERE registration IS NOT NULL
        UNION SELECT activity FROM statement_activities
        UNION SELECT agent FROM statement_agents
        UNION SELECT agent FROM statement_actors
        ORDER BY 1;
    CREATE TABLE statement_verbs (
        verb INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (verb, seq)
    ) WITHOUT ROWID;
    INSERT INTO statement_verbs
        SELECT t.id, s.seq FROM statements s INDEXED BY statements_verb CROSS JOIN lrs_terms t ON t.term = s.verb
        ORDER BY 1, 2;
    CREATE TABLE statement_objects (
        activity INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (activity, seq)
    ) WITHOUT ROWID;
    INSERT INTO statement_objects
        SELECT t.id, s.seq FROM statements s INDEXED BY statements_activity
            CROSS JOIN lrs_terms t ON t.term = s.object_activity
        WHERE s.object_activity IS NOT NULL ORDER BY 1, 2;
    CREATE TABLE statement_registrations (
        registration INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (registration, seq)
    ) WITHOUT ROWID;
    INSERT INTO statement_registrations
        SELECT t.id, s.seq FROM statements s INDEXED BY statements_registration
            CROSS JOIN lrs_terms t ON t.term = s.registration
        WHERE s.registration IS NOT NULL ORDER BY 1, 2;
    DROP INDEX statements_verb;
    DROP INDEX statements_activity;
    DROP INDEX statements_registration;
    CREATE TRIGGER statements_unindex AFTER DELETE ON statements BEGIN
        DELETE FROM statement_verbs WHERE verb = (SELECT id FROM lrs_terms WHERE term = OLD.verb) AND seq = OLD.seq;
        DELETE FROM statement_objects
            WHERE activity = (SELECT id FROM lrs_terms WHERE term = OLD.object_activity) AND seq = OLD.seq;
        DELETE FROM statement_registrations
            WHERE registration = (SELECT id FROM lrs_terms WHERE term = OLD.registration) AND seq = OLD.seq;
    END;
    CREATE TABLE statement_activities_9 (
        activity INTEGER NOT NULL,
        seq INTEGER NOT NULL REFERENCES statements(seq) ON DELETE CASCADE,
        PRIMARY KEY (activity, seq)
    ) WITHOUT ROWID;
    INSERT INTO statement_activities_9
        SELECT t.id, a.seq FROM statement_activities a CROSS JOIN lrs_terms t ON t.term = a.activity ORDER BY 1, 2;
    DROP TABLE statement_activities;
    ALTER TABLE statement_activities_9 RENAME TO statement_activities;
    CREATE TABLE statement_agents_9 (
        agent INTEGER NOT NULL,
        seq INTEGER NOT NULL REFERENCES statements(seq) ON DELETE CASCADE,
        PRIMARY KEY (agent, seq)
    ) WITHOUT ROWID;
    INSERT INTO statement_agents_9
        SELECT t.id, a.seq FROM statement_agents a CROSS JOIN lrs_terms t ON t.term = a.agent ORDER BY 1, 2;
    DROP TABLE statement_agents;
    ALTER TABLE statement_agents_9 RENAME TO statement_agents;
    CREATE TABLE statement_actors_9 (
        agent INTEGER NOT NULL,
        verb INTEGER NOT NULL,
        seq INTEGER NOT NULL REFERENCES statements(seq) ON DELETE CASCADE,
        PRIMARY KEY (agent, verb, seq)
    ) WITHOUT ROWID;
    INSERT INTO statement_actors_9
        SELECT t.id, v.id, a.seq FROM statement_actors a CROSS JOIN lrs_terms t ON t.term = a.agent
            CROSS JOIN lrs_terms v ON v.term = a.verb
        ORDER BY 1, 2, 3;
    DROP TABLE statement_actors;
    ALTER TABLE statement_actors_9 RENAME TO statement_actors;
    """,
    # 10: an enrolment's last lesson and last-seen time come from lesson_views (records.last_lesson, last_seen).
    # Every lesson view wrote them again into enrolments: a second random page in the log, per view, for what the
    # view's own row (last_at) already says.
    """
    ALTER TABLE enrolments DROP COLUMN last_lesson_iri;
    ALTER TABLE enrolments DROP COLUMN last_seen_at;
    """,
    # 11: each StatementRef's target by seq. A filtered query also returns the StatementRefs in its window whose
    # target matches, so it must test each one's target: looked up by id, that was a read of the id index at a
    # scattered place per reference (hundreds per query in a large store, each a disk read when not cached).
    # statement_refs holds one row per StatementRef, in seq order (a query's window is one range of it), with
    # the seq of the statement it targets: the target's entries in the index tables can then be tested by key,
    # next to the entries the query has just read, and its row read only when they pass. target is NULL when the
    # target was not stored when the reference was (or has been deleted since): a query then looks the id up, as
    # every query did before. The trigger keeps a deleted statement's seq out of the table (SQLite may give that
    # seq to a later statement); it finds the references to it through statements_target.
    """
    CREATE TABLE statement_refs (
        seq INTEGER PRIMARY KEY,
        target INTEGER
    );
    INSERT INTO statement_refs (seq, target)
        SELECT r.seq, t.seq FROM statements r INDEXED BY statements_target
            LEFT JOIN statements t ON t.id = r.object_statement
        WHERE r.object_statement IS NOT NULL ORDER BY r.seq;
    CREATE TRIGGER statements_unref AFTER DELETE ON statements BEGIN
        DELETE FROM statement_refs WHERE seq = OLD.seq;
        UPDATE statement_refs SET target = NULL
            WHERE seq IN (SELECT seq FROM statements INDEXED BY statements_target WHERE object_statement = OLD.id)
            AND target = OLD.seq;
    END;
    """,
    # 12: a deleted account's capstone ideas and comments stay with the team (decision 0019; see capstone_schema)
    FORMER_MEMBERS_KEEP_IDEAS,
    # 13: deleting a statement or an account reads no table whole (decision 0021). Deleting a row makes SQLite look
    # for the rows that refer to it (ON DELETE CASCADE or SET NULL), reading a whole table where no index starts
    # with the referring column. The LRS's activity, agent and actor tables are keyed by a term first, so each was
    # read whole for every statement deleted: an account of 76 statements took 126 s to delete in a store of 1.7
    # million, holding the writer (and the event loop) all the while. An index on seq would cost every write three
    # more entries and could take over the queries' own plans; instead these tables lose their foreign key, as
    # the verb, object and registration tables did in migration 9, and their rows are deleted by key
    # (statements.delete_statements). The outbox, the dead letters and the capstone's references to members get
    # the index they lacked: they are small, and written seldom.
    """
    CREATE TABLE statement_activities_13 (
        activity INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (activity, seq)
    ) WITHOUT ROWID;
    INSERT INTO statement_activities_13 SELECT activity, seq FROM statement_activities ORDER BY activity, seq;
    DROP TABLE statement_activities;
    ALTER TABLE statement_activities_13 RENAME TO statement_activities;
    CREATE TABLE statement_agents_13 (
        agent INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (agent, seq)
    ) WITHOUT ROWID;
    INSERT INTO statement_agents_13 SELECT agent, seq FROM statement_agents ORDER BY agent, seq;
    DROP TABLE statement_agents;
    ALTER TABLE statement_agents_13 RENAME TO statement_agents;
    CREATE TABLE statement_actors_13 (
        agent INTEGER NOT NULL,
        verb INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (agent, verb, seq)
    ) WITHOUT ROWID;
    INSERT INTO statement_actors_13 SELECT agent, verb, seq FROM statement_actors ORDER BY agent, verb, seq;
    DROP TABLE statement_actors;
    ALTER TABLE statement_actors_13 RENAME TO statement_actors;
    CREATE INDEX outbox_seq ON outbox(seq);
    CREATE INDEX dead_letters_seq ON dead_letters(seq);
    CREATE INDEX capstone_teams_created_by ON capstone_teams(created_by);
    CREATE INDEX capstone_members_user ON capstone_members(user_id);
    CREATE INDEX capstone_members_moved_by ON capstone_members(moved_by);
    CREATE INDEX capstone_decisions_proposed_by ON capstone_decisions(proposed_by);
    CREATE INDEX capstone_confirmations_user ON capstone_confirmations(user_id);
    CREATE INDEX capstone_plans_updated_by ON capstone_plans(updated_by);
    CREATE INDEX capstone_measurements_recorded_by ON capstone_measurements(recorded_by);
    CREATE INDEX capstone_reflections_user ON capstone_reflections(user_id);
    CREATE INDEX capstone_case_studies_hidden_by ON capstone_case_studies(hidden_by);
    CREATE INDEX capstone_case_studies_updated_by ON capstone_case_studies(updated_by);
    CREATE INDEX capstone_kudos_user ON capstone_kudos(user_id);
    CREATE INDEX capstone_completions_team ON capstone_completions(team_id);
    CREATE INDEX capstone_ideas_hidden_by ON capstone_ideas(hidden_by);
    CREATE INDEX capstone_ideas_author ON capstone_ideas(author_id);
    CREATE INDEX capstone_comments_hidden_by ON capstone_comments(hidden_by);
    CREATE INDEX capstone_comments_author ON capstone_comments(author_id);
    CREATE INDEX capstone_votes_user ON capstone_votes(user_id);
    """,
    # 14: the report triggers of learner actions write the tallies themselves, not through report_bump, and a
    # bump made only sometimes (a wrong first attempt, a course's days) has a trigger of its own (report_tallies).
    HOT_REPORT_TRIGGERS,
    # 15: links to set a new password, for a person who has forgotten theirs (decision 0033). Only the token's
    # SHA-256 is kept, as for sessions; a link goes with its account, and outlives the person who issued it.
    """
    CREATE TABLE password_links (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        issued_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        issued_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX password_links_user ON password_links(user_id);
    CREATE INDEX password_links_issued_by ON password_links(issued_by);
    """,
]


def split_statements(script: str) -> list[str]:
    """Split a migration into statements; a trigger's body holds semicolons of its own."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return [s for s in statements if s.rstrip(";").strip()]
