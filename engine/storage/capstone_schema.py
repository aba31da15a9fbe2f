"""The capstone's tables: made by migration 3, and two of them made again by migration 12 (``migrations.py`` lists
them in order). Never edit one that has shipped: add another migration."""

from __future__ import annotations

CAPSTONE_TABLES = """
    CREATE TABLE capstone_teams (
        id INTEGER PRIMARY KEY,
        course_iri TEXT NOT NULL,
        name TEXT NOT NULL,
        department TEXT NOT NULL,
        join_code TEXT NOT NULL UNIQUE,
        created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX capstone_teams_course ON capstone_teams(course_iri, department);
    CREATE TABLE capstone_members (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES capstone_teams(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        course_iri TEXT NOT NULL,
        joined_at TEXT NOT NULL,
        left_at TEXT,
        moved_by INTEGER REFERENCES users(id) ON DELETE SET NULL
    );
    CREATE UNIQUE INDEX capstone_one_active_team ON capstone_members(user_id, course_iri) WHERE left_at IS NULL;
    CREATE INDEX capstone_members_team ON capstone_members(team_id);
    CREATE TABLE capstone_ideas (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES capstone_teams(id) ON DELETE CASCADE,
        author_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        problem TEXT NOT NULL,
        change TEXT NOT NULL,
        created_at TEXT NOT NULL,
        withdrawn_at TEXT,
        hidden_reason TEXT,
        hidden_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        hidden_at TEXT
    );
    CREATE INDEX capstone_ideas_team ON capstone_ideas(team_id);
    CREATE TABLE capstone_comments (
        id INTEGER PRIMARY KEY,
        idea_id INTEGER NOT NULL REFERENCES capstone_ideas(id) ON DELETE CASCADE,
        author_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        hidden_reason TEXT,
        hidden_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        hidden_at TEXT
    );
    CREATE INDEX capstone_comments_idea ON capstone_comments(idea_id);
    CREATE TABLE capstone_votes (
        idea_id INTEGER NOT NULL REFERENCES capstone_ideas(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        value INTEGER NOT NULL CHECK (value IN (1, -1)),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (idea_id, user_id)
    ) WITHOUT ROWID;
    CREATE TABLE capstone_decisions (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES capstone_teams(id) ON DELETE CASCADE,
        proposed_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        change TEXT NOT NULL,
        reason TEXT NOT NULL,
        idea_ids TEXT NOT NULL,
        created_at TEXT NOT NULL,
        agreed_at TEXT
    );
    CREATE INDEX capstone_decisions_team ON capstone_decisions(team_id);
    CREATE TABLE capstone_confirmations (
        kind TEXT NOT NULL CHECK (kind IN ('decision', 'case_study')),
        object_id INTEGER NOT NULL,
        version INTEGER NOT NULL DEFAULT 0,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        confirmed_at TEXT NOT NULL,
        PRIMARY KEY (kind, object_id, version, user_id)
    ) WITHOUT ROWID;
    CREATE TABLE capstone_plans (
        team_id INTEGER PRIMARY KEY REFERENCES capstone_teams(id) ON DELETE CASCADE,
        hypothesis TEXT NOT NULL,
        change TEXT NOT NULL,
        start_date TEXT NOT NULL,
        review_date TEXT NOT NULL,
        updated_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE capstone_measures (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES capstone_teams(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        unit TEXT NOT NULL,
        baseline REAL NOT NULL,
        UNIQUE (team_id, name)
    );
    CREATE TABLE capstone_measurements (
        id INTEGER PRIMARY KEY,
        measure_id INTEGER NOT NULL REFERENCES capstone_measures(id) ON DELETE CASCADE,
        taken_on TEXT NOT NULL,
        value REAL NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        recorded_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX capstone_measurements_measure ON capstone_measurements(measure_id, taken_on);
    CREATE TABLE capstone_reflections (
        team_id INTEGER NOT NULL REFERENCES capstone_teams(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        worked TEXT NOT NULL,
        not_worked TEXT NOT NULL,
        advice TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (team_id, user_id)
    ) WITHOUT ROWID;
    CREATE TABLE capstone_case_studies (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL UNIQUE REFERENCES capstone_teams(id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        problem TEXT NOT NULL,
        change TEXT NOT NULL,
        results TEXT NOT NULL,
        lessons TEXT NOT NULL,
        recommend TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('worked', 'partly', 'did_not_work')),
        theme TEXT NOT NULL DEFAULT '',
        version INTEGER NOT NULL DEFAULT 1,
        status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted', 'published')),
        updated_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        updated_at TEXT NOT NULL,
        submitted_at TEXT,
        published_at TEXT,
        hidden_reason TEXT,
        hidden_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        hidden_at TEXT
    );
    CREATE TABLE capstone_kudos (
        case_study_id INTEGER NOT NULL REFERENCES capstone_case_studies(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        given_at TEXT NOT NULL,
        PRIMARY KEY (case_study_id, user_id)
    ) WITHOUT ROWID;
    CREATE TABLE capstone_stage_completions (
        team_id INTEGER NOT NULL REFERENCES capstone_teams(id) ON DELETE CASCADE,
        stage_id TEXT NOT NULL,
        completed_at TEXT NOT NULL,
        PRIMARY KEY (team_id, stage_id)
    ) WITHOUT ROWID;
    CREATE TABLE capstone_completions (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        course_iri TEXT NOT NULL,
        team_id INTEGER NOT NULL REFERENCES capstone_teams(id) ON DELETE CASCADE,
        completed_at TEXT NOT NULL,
        PRIMARY KEY (user_id, course_iri)
    ) WITHOUT ROWID;
    """
"""Migration 3: the capstone team project: teams, ideas, decisions, plans, measurements, reflections, case studies."""

FORMER_MEMBERS_KEEP_IDEAS = """
    ALTER TABLE capstone_ideas RENAME TO capstone_ideas_11;
    ALTER TABLE capstone_comments RENAME TO capstone_comments_11;
    ALTER TABLE capstone_votes RENAME TO capstone_votes_11;
    CREATE TABLE capstone_ideas (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES capstone_teams(id) ON DELETE CASCADE,
        author_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
        title TEXT NOT NULL,
        problem TEXT NOT NULL,
        change TEXT NOT NULL,
        created_at TEXT NOT NULL,
        withdrawn_at TEXT,
        hidden_reason TEXT,
        hidden_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        hidden_at TEXT
    );
    INSERT INTO capstone_ideas (id, team_id, author_id, title, problem, change, created_at, withdrawn_at,
                                hidden_reason, hidden_by, hidden_at)
        SELECT id, team_id, author_id, title, problem, change, created_at, withdrawn_at, hidden_reason, hidden_by,
               hidden_at FROM capstone_ideas_11;
    CREATE TABLE capstone_comments (
        id INTEGER PRIMARY KEY,
        idea_id INTEGER NOT NULL REFERENCES capstone_ideas(id) ON DELETE CASCADE,
        author_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        hidden_reason TEXT,
        hidden_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        hidden_at TEXT
    );
    INSERT INTO capstone_comments (id, idea_id, author_id, body, created_at, hidden_reason, hidden_by, hidden_at)
        SELECT id, idea_id, author_id, body, created_at, hidden_reason, hidden_by, hidden_at
        FROM capstone_comments_11;
    CREATE TABLE capstone_votes (
        idea_id INTEGER NOT NULL REFERENCES capstone_ideas(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        value INTEGER NOT NULL CHECK (value IN (1, -1)),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (idea_id, user_id)
    ) WITHOUT ROWID;
    INSERT INTO capstone_votes (idea_id, user_id, value, updated_at)
        SELECT idea_id, user_id, value, updated_at FROM capstone_votes_11;
    DROP TABLE capstone_votes_11;
    DROP TABLE capstone_comments_11;
    DROP TABLE capstone_ideas_11;
    CREATE INDEX capstone_ideas_team ON capstone_ideas(team_id);
    CREATE INDEX capstone_comments_idea ON capstone_comments(idea_id);
    """
"""Migration 12: a deleted account's capstone ideas and comments stay with the team (decision 0019). Every idea is
kept and credited; deleting an account deleted the ideas and comments it had posted (ON DELETE CASCADE), and with them
other members' comments and votes on those ideas. author_id becomes NULL instead ("a former member"). SQLite
cannot change a column's constraints in place: the tables are renamed aside (which points the references of
the tables below at the renamed ones), made again and copied; a team's ideas are tens of rows."""
