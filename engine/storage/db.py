"""The SQLite store: connection settings, migrations, and the queries the runtime needs."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

from .checkpoints import Checkpointer
from .clock import now
from .grouping import Group, GroupCommit, request_state
from .migrations import MIGRATIONS, split_statements
from .passwords import Passwords
from .records import LAST_LESSON, USER_COLUMNS, Enrolment, Records, User, user_from_row
from .sessions import MAX_SIGNED_IN, Sessions
from .statements import IndexedStatement, TermNumbers, delete_statements, insert_statements
from .transactions import Transaction


class SchemaTooNew(Exception):
    """The database was written by a newer engine; refuse rather than corrupt it."""


class EmailTaken(Exception):
    pass


class AttemptsExhausted(Exception):
    pass


MAX_KEPT_RECORDS = 5000
"""Learners whose records a store keeps in memory (a few kilobytes each; see Store.records)."""

class Store(Sessions, Passwords):
    """One connection per process; writes for one learner action run in one transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        _create_private(self.path)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        try:
            # Before anything that writes (WAL mode writes the file's header): a file this engine must refuse
            # is left as it was.
            found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.Error:  # not a database
            conn.close()
            raise
        if found > len(MIGRATIONS):
            conn.close()
            raise SchemaTooNew(f"{self.path} has schema version {found}; this engine knows up to {len(MIGRATIONS)}")
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        self._lock = threading.RLock()
        self._kept: dict[int, Records] = {}
        self._kept_version = -1
        self._version_group: Group | None = None
        """The open group in which data_version was last asked, on the event loop (``_current``)."""
        self._kept_lock = threading.Lock()
        self._met: set[tuple[str, str]] = set()
        """(session token hash, object IRI) of session events known to be stored (``session_first``)."""
        self._met_pending: set[tuple[str, str]] = set()
        """Session events this connection's open transaction stored or found: known once it commits."""
        self._saved_pending: set[Callable[[], None]] = set()
        """``save_statements``' callbacks, called once the statements are committed (``_after_commit``)."""
        self._erased_pending = False
        """This connection's open transaction erased someone (``delete_user``): once it commits, the checkpoint
        thread empties the log file of them (``Checkpointer.erased``)."""
        self._signed_in: dict[str, tuple[User, float]] = {}
        """Session token hash → its user, kept like records (see ``records``): every request asks."""
        self._enrolments: dict[tuple[int, str], Enrolment] = {}
        """(user id, course IRI) → the enrolment, kept like records: every request in a course asks."""
        self._enrolment_keys: dict[int, tuple[int, str]] = {}
        """Enrolment id → its key in ``_enrolments``, for the writes that know the id only."""
        self.terms = TermNumbers()
        """Numbers of the LRS's terms that committed transactions gave (``statements.term_ids``)."""
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        # Erasure (UK GDPR): a deleted account's rows are overwritten with zeros, not left in the file's free space.
        # Debian's SQLite does this by default; other builds do not.
        conn.execute("PRAGMA secure_delete=ON")
        self._groups = GroupCommit(conn, self._lock, self._forget_all, self._after_commit, self._write_statements)
        self._checkpointer: Checkpointer | None = None
        self.migrate()
        # Each action of a group commit has its own savepoint, and SQLite keeps the first copy of every page an
        # action changes in a sub-journal, which spills to a temporary file past 64 KB: an answer changes about
        # 26 pages, so each answer created a file and wrote every page to it. In memory (SQLite keeps
        # sub-journals there when temporary storage is in memory): answers 1.53 -> 1.23 ms of CPU in process on
        # the 470,000-learner benchmark database. After the migrations, whose sorts of millions of rows belong in
        # files (so do ``reports.rebuild``'s, which sets FILE for its own transaction).
        conn.execute("PRAGMA temp_store=MEMORY")
        if self.path not in ("", ":memory:"):
            conn.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = Checkpointer(self.path, weakref.ref(self))

    def close(self) -> None:
        self._groups.end()
        if self._checkpointer is not None:
            # Its connection closed first, this one is the last: closing it checkpoints and removes the log.
            self._checkpointer.stop()
        self.conn.close()

    @property
    def version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply every migration newer than the file's version, each in its own transaction."""
        current = self.version
        if current > len(MIGRATIONS):
            raise SchemaTooNew(
                f"{self.path} has schema version {current}; this engine knows up to {len(MIGRATIONS)}"
            )
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            with self.transaction():
                for statement in split_statements(script):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={number}")

    def transaction(self) -> Transaction:
        """One learner action's writes, all or nothing; BEGIN IMMEDIATE, so concurrent writers queue instead of
        failing half-way. Use as ``with store.transaction() as conn:``.

        In a web request on the event loop (``one_request``), the actions of every request handled in the same
        turn of the loop share one transaction, each in a savepoint of its own, committed at the start of the next
        turn (decision 0010): one commit, and each hot page written once, for all of them. A request that wrote is
        answered only after that commit (``committed``). Outside a request, or off the loop, it is a transaction
        of its own, as always.
        """
        return Transaction(self)

    def _after_commit(self) -> None:
        """After every commit of this connection, grouped or not, with the lock held: term numbers found are
        known from now on; the checkpoint thread may have asked the writer to copy the rest of a long log
        (decision 0013)."""
        self.terms.commit()
        if self._saved_pending:
            saved, self._saved_pending = self._saved_pending, set()
            for callback in saved:
                callback()
        if self._met_pending:
            self._know_met(self._met_pending)
            self._met_pending.clear()
        if self._checkpointer is not None:
            self._checkpointer.catch_up(self.conn)
            if self._erased_pending:
                self._checkpointer.erased()
        self._erased_pending = False

    def save_statements(self, statements: list[IndexedStatement], *, endpoints: list[str], now: str,
                        saved: Callable[[], None] | None = None) -> None:
        """Store the engine's xAPI statements with the caller's action (which holds the transaction), and call
        ``saved`` once they are committed (the delivery worker's wake-up: before then it cannot see them).

        In an action of a group commit they are written with the rest of the group's statements just before its
        commit (decision 0028), outside the action's savepoint: an action that fails takes its statements with
        it, and statements that fail to be written undo the whole group, as a failed commit does."""
        if self._groups.write_later((statements, endpoints, now, saved)):
            return
        insert_statements(self.conn, statements, endpoints=endpoints, now=now, terms=self.terms)
        if saved is not None:
            self._saved_pending.add(saved)

    def _write_statements(self, later: list[tuple[list[IndexedStatement], list[str], str,
                                                  Callable[[], None] | None]]) -> None:
        """The statements a group's actions saved (``save_statements``), in the order they saved them: in one
        call for each run of saves with the same endpoints (every save of one service's emitter has the same)."""
        start = 0
        while start < len(later):
            endpoints = later[start][1]
            end = start + 1
            while end < len(later) and later[end][1] == endpoints:
                end += 1
            rows = [s for statements, *_ in later[start:end] for s in statements]
            insert_statements(self.conn, rows, endpoints=endpoints, now=later[end - 1][2], terms=self.terms)
            start = end
        self._saved_pending.update(saved for *_, saved in later if saved is not None)

    def _forget_all(self) -> None:
        self.terms.undo()
        self._met_pending.clear()
        self._erased_pending = False
        self._saved_pending.clear()
        self._forget_records()
        self._forget_sessions()
        self._forget_enrolments()

    async def committed(self) -> BaseException | None:
        """Wait until the group holding this request's writes has committed; None, or why it could not."""
        return await self._groups.committed()

    def _forget_records(self, enrolment_id: int | None = None) -> None:
        """Drop kept records: one enrolment's after this store wrote to them, or all."""
        with self._kept_lock:
            if enrolment_id is None:
                self._kept.clear()
            else:
                self._kept.pop(enrolment_id, None)

    def _forget_sessions(self) -> None:
        """Drop kept sign-ins: this store changed a user or a session (another process: see ``_current``)."""
        with self._kept_lock:
            self._signed_in.clear()

    def _forget_enrolments(self) -> None:
        with self._kept_lock:
            self._enrolments.clear()
            self._enrolment_keys.clear()

    def _current(self) -> int:
        """SQLite's data_version, after dropping everything kept if another connection has committed since.

        Asked once per web request (``one_request``), and at every call outside one.
        """
        seen = request_state()
        group = self._groups.open
        if seen is not None:
            known = seen.get(id(self))
            if known is not None:
                return int(known)
            if group is not None and group is self._version_group:
                # Asked already while this group's transaction was open: it holds the write lock, so no other
                # connection can have committed since (an open group spans several turns of a busy loop).
                seen[id(self)] = self._kept_version
                return self._kept_version
        version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        with self._kept_lock:
            if version != self._kept_version:
                self._kept.clear()
                self._signed_in.clear()
                self._enrolments.clear()
                self._enrolment_keys.clear()
                self.terms.known.clear()  # another process may have erased a term (``erasure.erase_term``)
                self._kept_version = version
        if seen is not None:
            seen[id(self)] = version
            self._version_group = group
        return version

    def ping(self) -> bool:
        return bool(self.conn.execute("SELECT 1").fetchone() == (1,))

    # --- accounts -------------------------------------------------------------------------

    def create_user(self, *, name: str, email: str, department: str, password_hash: str,
                    role: str = "learner") -> User:
        with self.transaction() as conn:
            try:
                cursor = conn.execute(
                    "INSERT INTO users (public_id, name, email, department, password_hash, role, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (str(uuid.uuid4()), name, email, department, password_hash, role, now()),
                )
            except sqlite3.IntegrityError:
                raise EmailTaken(email) from None
        user = self.user_by_id(int(cursor.lastrowid or 0))
        assert user is not None
        return user

    def user_by_id(self, user_id: int) -> User | None:
        return user_from_row(self.conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone())  # noqa: S608

    def user_by_email(self, email: str) -> User | None:
        row = self.conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE email = ?", (email,)).fetchone()  # noqa: S608
        return user_from_row(row)

    def account_terms(self, name: str) -> list[str]:
        """The LRS's keys for an xAPI account of this name (``account:<homePage>|<name>``), whatever its home
        page: ``base_url`` may have changed since statements named it. Read in the range of account keys."""
        suffix = "|" + name
        return [term for (term,) in self.conn.execute(
            "SELECT term FROM lrs_terms WHERE term >= 'account:' AND term < 'account;' AND term LIKE ? ESCAPE '\\'",
            ("%" + suffix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"),))
            if term.endswith(suffix)]  # LIKE ignores case

    def user_by_public_id(self, public_id: str) -> User | None:
        row = self.conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE public_id = ?",  # noqa: S608
                                (public_id,)).fetchone()
        return user_from_row(row)

    def set_role(self, user_id: int, role: str) -> bool:
        """Give the account ``role``; False, changing nothing, if that would leave the service without an admin
        (checked in the write itself, so two changes at once, or from two processes, cannot both pass)."""
        with self.transaction() as conn:
            changed = conn.execute(
                "UPDATE users SET role = ?1 WHERE id = ?2 AND (?1 = 'admin' OR role != 'admin'"
                " OR (SELECT COUNT(*) FROM users WHERE role = 'admin') > 1)", (role, user_id)).rowcount == 1
            if changed:
                # A link to set the password was issued for the access the account had (decision 0033): a
                # facilitator may issue one for a learner, and it must not sign its holder in as an admin.
                conn.execute("DELETE FROM password_links WHERE user_id = ?", (user_id,))
                self._forget_sessions()
        return changed

    def count_role(self, role: str) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM users WHERE role = ?", (role,)).fetchone()[0])

    def users(self, *, role: str | None = None, department: str | None = None) -> Iterator[User]:
        """Accounts by email, optionally of one role or department, read as they are listed (there may be
        470,000)."""
        cursor = self.conn.execute(
            f"SELECT {USER_COLUMNS} FROM users WHERE (?1 IS NULL OR role = ?1) AND (?2 IS NULL OR department = ?2)"  # noqa: S608
            " ORDER BY email", (role, department))
        for row in cursor:
            user = user_from_row(row)
            assert user is not None
            yield user

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
            self._forget_sessions()

    def delete_user(self, user_id: int, actor_keys: Sequence[str] = ()) -> None:
        """Deletes the account, every record about it (through foreign keys) and the statements it is the actor
        of (``actor_keys``: its agent's keys, ``engine.xapi.keys.agent_key``), and takes it out of the statements
        of others that name it (``erasure.forget_agent``)."""
        # The statements' index rows are found from their bodies by the function that made them.
        from ..xapi.keys import index_stored
        from .erasure import erase_term, forget_agent

        with self.transaction() as conn:
            self._erased_pending = True  # an action of a group that fails leaves it set: one TRUNCATE too many
            conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
            for key in actor_keys:
                # statement_actors holds every actor's statements (migration 8 dropped the index on actor), by
                # the number of the actor's key (migration 9); an Agent object is there too, and stays.
                seqs = [seq for (seq,) in conn.execute(
                    "SELECT a.seq FROM statement_actors a CROSS JOIN statements s ON s.seq = a.seq"
                    " WHERE a.agent = (SELECT id FROM lrs_terms WHERE term = ?) AND s.actor = ?", (key, key))]
                delete_statements(conn, sorted(set(seqs)), index_stored)
                forget_agent(conn, key, index_stored)
                if erase_term(conn, key):
                    self.terms.forget(key)
            self._forget_sessions()
        self._forget_records()
        self._forget_enrolments()

    # --- enrolments and records ------------------------------------------------------------

    def enrolment(self, user_id: int, course_iri: str) -> Enrolment | None:
        """The learner's enrolment in the course, or None; kept between requests like sign-ins."""
        key = (user_id, course_iri)
        version = self._current()
        found = self._enrolments.get(key)
        if found is not None:
            return found
        row = self.conn.execute(
            f"SELECT e.id, e.user_id, e.course_iri, e.registration, e.created_at, {LAST_LESSON}"  # noqa: S608
            " FROM enrolments e WHERE e.user_id = ? AND e.course_iri = ?",
            key,
        ).fetchone()
        if row is None:
            return None
        enrolment = Enrolment(*row)
        with self._kept_lock:
            if self._kept_version == version:
                if len(self._enrolments) >= MAX_SIGNED_IN:
                    oldest = next(iter(self._enrolments))
                    self._enrolment_keys.pop(self._enrolments.pop(oldest).id, None)
                self._enrolments[key] = enrolment
                self._enrolment_keys[enrolment.id] = key
        return enrolment

    def enrol(self, user_id: int, course_iri: str) -> tuple[Enrolment, bool]:
        """The learner's enrolment, made on first use; True when it is new."""
        existing = self.enrolment(user_id, course_iri)
        if existing:
            return existing, False
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO enrolments (user_id, course_iri, registration, created_at)"
                " VALUES (?, ?, ?, ?)",
                (user_id, course_iri, str(uuid.uuid4()), now()),
            )
        enrolment = self.enrolment(user_id, course_iri)
        assert enrolment is not None
        return enrolment, True

    def delete_enrolment(self, user_id: int, course_iri: str) -> None:
        """Forget a learner's records in one course (the preview's "reset my progress")."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM enrolments WHERE user_id = ? AND course_iri = ?", (user_id, course_iri))
        self._forget_records()
        self._forget_enrolments()

    def record_view(self, enrolment_id: int, lesson_iri: str) -> bool:
        """Record a lesson view; True when it is the first."""
        stamp = now()
        with self._kept_lock:
            kept = self._kept.get(enrolment_id)
        # Rows of lesson_views go only with their enrolment, so one in kept records is there still.
        seen = kept is not None and lesson_iri in kept.views
        with self.transaction() as conn:
            first = not seen and conn.execute(
                "INSERT OR IGNORE INTO lesson_views (enrolment_id, lesson_iri, first_at, last_at)"
                " VALUES (?, ?, ?, ?)",
                (enrolment_id, lesson_iri, stamp, stamp),
            ).rowcount == 1
            if first:
                # Records hold the first view only: later views change nothing they hold.
                self._amend(enrolment_id, lesson_iri, lambda records: records.views.__setitem__(lesson_iri, stamp))
                self._move_kept_enrolment(enrolment_id, lesson_iri)
            else:
                self._count_view(conn, enrolment_id, lesson_iri, stamp)
        return first

    def view_again(self, enrolment_id: int, lesson_iri: str) -> bool:
        """Record a view of a lesson the learner has viewed before, as an action of its own; False, recording
        nothing, when the lesson's row is not known to exist (then ``record_view``).

        The action is one statement, so it needs no savepoint in a group (``Transaction(alone=True)``, decision
        0026): SQLite undoes a statement that fails by itself. The caller has made sure that the view has nothing
        else to record (``events.lesson_viewed``)."""
        with self._kept_lock:
            kept = self._kept.get(enrolment_id)
        # Rows of lesson_views go only with their enrolment, so one in kept records is there still.
        if kept is None or lesson_iri not in kept.views:
            return False
        with Transaction(self, alone=True) as conn:
            self._count_view(conn, enrolment_id, lesson_iri, now())
        return True

    def _count_view(self, conn: sqlite3.Connection, enrolment_id: int, lesson_iri: str, stamp: str) -> None:
        """A repeat view: one statement, then what is kept of the enrolment (which nothing can fail)."""
        conn.execute("UPDATE lesson_views SET views = views + 1, last_at = ? WHERE enrolment_id = ? AND lesson_iri = ?",
                     (stamp, enrolment_id, lesson_iri))
        self._move_kept_enrolment(enrolment_id, lesson_iri)

    def _move_kept_enrolment(self, enrolment_id: int, lesson_iri: str) -> None:
        """The kept enrolment's last lesson, as reading it again would give (a rollback forgets every kept
        enrolment)."""
        with self._kept_lock:
            key = self._enrolment_keys.get(enrolment_id)
            kept_enrolment = self._enrolments.get(key) if key is not None else None
            if key is not None and kept_enrolment is not None and kept_enrolment.last_lesson_iri != lesson_iri:
                self._enrolments[key] = kept_enrolment.moved_to(lesson_iri)

    def add_attempt(self, enrolment_id: int, *, block_iri: str, lesson_iri: str, response: Any,
                    score: float, success: bool, max_attempts: int | None) -> int:
        """Record a graded attempt and return its number; the caller holds the transaction."""
        conn = self.conn
        assert conn.in_transaction, "add_attempt must run inside store.transaction()"
        count = conn.execute(
            "SELECT COALESCE(MAX(attempt_no), 0) FROM attempts WHERE enrolment_id = ? AND block_iri = ?",
            (enrolment_id, block_iri),
        ).fetchone()[0]
        if max_attempts is not None and count >= max_attempts:
            raise AttemptsExhausted(block_iri)
        text, stamp, number = json.dumps(response), now(), int(count) + 1
        conn.execute(
            "INSERT INTO attempts (enrolment_id, block_iri, lesson_iri, attempt_no, response, score, success,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (enrolment_id, block_iri, lesson_iri, number, text, score, int(success), stamp),
        )

        self._amend(enrolment_id, lesson_iri, lambda records: records.add_attempt(block_iri, number, text, float(score),
                                                                      success, stamp, lesson_iri))
        return number

    def set_response(self, enrolment_id: int, *, block_iri: str, lesson_iri: str, kind: str, value: Any) -> None:
        """Keep the latest value of an ungraded block; the caller holds the transaction."""
        assert self.conn.in_transaction, "set_response must run inside store.transaction()"
        text = json.dumps(value)
        self.conn.execute(
            "INSERT INTO responses (enrolment_id, block_iri, lesson_iri, kind, value, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (enrolment_id, block_iri)"
            " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (enrolment_id, block_iri, lesson_iri, kind, text, now()),
        )
        self._amend(enrolment_id, lesson_iri, lambda records: records.add_response(block_iri, text, lesson_iri))

    def add_completion(self, enrolment_id: int, object_iri: str, kind: str, score: float | None) -> bool:
        """Record a completion once; True when it is new. The caller holds the transaction."""
        assert self.conn.in_transaction, "add_completion must run inside store.transaction()"
        stamp = now()
        new = self.conn.execute(
            "INSERT OR IGNORE INTO completions VALUES (?, ?, ?, ?, ?)",
            (enrolment_id, object_iri, kind, stamp, score),
        ).rowcount == 1
        if new:
            self._amend(enrolment_id, object_iri,
                        lambda records: records.completions.__setitem__(object_iri, (stamp, score)))
        return new

    def _amend(self, enrolment_id: int, iri: str, change: Callable[[Records], None]) -> None:
        """Apply a write this store just made about ``iri`` (a lesson, or a module or course completed) to the
        enrolment's kept records, as reading them again would.

        The caller holds the transaction; if it is rolled back, every kept record goes (``transaction``). What
        progress worked out from the records goes with the change, but for other lessons (``Records.changed``).
        """
        with self._kept_lock:
            kept = self._kept.get(enrolment_id)
            if kept is not None:
                change(kept)
                kept.changed(iri)

    def records(self, enrolment_id: int) -> Records:
        """Everything recorded for the enrolment; kept between requests while nothing else writes to the file.

        Reading them is most of a lesson view's database time, and a learner's next page needs the same rows
        again. This store drops an enrolment's records whenever it writes to them, and SQLite's data_version
        tells when another connection (another process) has committed anything: then every kept record goes.
        The store's own writes (a first view, an attempt, a response, a completion) go into kept records in place
        (``_amend``), as reading them again would give; progress keeps what it works out from them with them
        (``Records.derived``), and loses it with any change.
        """
        version = self._current()
        with self._kept_lock:
            found = self._kept.get(enrolment_id)
        if found is not None:
            return found
        records = self._read_records(enrolment_id)
        with self._kept_lock:
            if self._kept_version == version:
                if len(self._kept) >= MAX_KEPT_RECORDS:
                    del self._kept[next(iter(self._kept))]  # the oldest
                self._kept[enrolment_id] = records
        return records

    def _read_records(self, enrolment_id: int) -> Records:
        conn = self.conn
        records = Records()
        for iri, first in conn.execute(
            "SELECT lesson_iri, first_at FROM lesson_views WHERE enrolment_id = ?", (enrolment_id,)
        ):
            records.views[iri] = first
        for iri, value, lesson_iri in conn.execute(
            "SELECT block_iri, value, lesson_iri FROM responses WHERE enrolment_id = ?", (enrolment_id,)
        ):
            records.add_response(iri, value, lesson_iri)
        latest: dict[str, tuple[Any, ...]] = {}
        for row in conn.execute(
            "SELECT block_iri, attempt_no, response, score, success, created_at, lesson_iri FROM attempts"
            " WHERE enrolment_id = ? ORDER BY attempt_no", (enrolment_id,),
        ):
            latest[row[0]] = row  # a learner has few attempts: keeping the last per block beats a subquery
            records.touched.add(row[6])
        for row in latest.values():
            records.add_attempt(*row)
        for iri, at, score in conn.execute(
            "SELECT object_iri, completed_at, score FROM completions WHERE enrolment_id = ?", (enrolment_id,)
        ):
            records.completions[iri] = (at, score)
        return records

    def poll_counts(self, block_iri: str) -> dict[str, int]:
        """How many learners chose each value of a poll (a multiple-choice answer counts each choice)."""
        return {str(value): int(count) for value, count in self.conn.execute(
            "SELECT value, count FROM poll_tallies WHERE block_iri = ? AND count > 0", (block_iri,))}


def _create_private(path: str) -> None:
    """Create the database file readable and writable by its owner only, if it is not there: it holds personal
    data, and SQLite gives its -wal and -shm files the database file's mode. SQLite itself would create it 0644
    under the usual umask, readable by every account on the machine. A file that is there already keeps the mode
    its operator gave it."""
    if path in ("", ":memory:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:  # there already (a database, or a link to one), or no folder: SQLite says why, as ever
        pass


WRITER_CACHE_KIB = 64 * 1024
"""The store connection's page cache (SQLite's default is 2 MB). A group of LRS writes dirties a page or more per
statement for each index; with a small cache SQLite writes them to the log before the commit, then again at it."""
