"""Versioned schema migrations, applied in order at start. Never edit one that has shipped: add another."""

from __future__ import annotations

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
]
