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
]
