"""A deleted account's agent taken out of the statements that name it but are not its own (UK GDPR erasure).

The account's own statements are deleted with it (``Store.delete_user``). Others name it too: every capstone
statement lists the team's members in ``context.team``, and a facilitator's "moved" statement names the person
moved in an extension. Those statements are the other people's records, so they stay, without the person: the
member is taken out of the team's list (the team goes, if it was the only member), and the extension naming
them goes. A statement that names the person anywhere else (its object, its instructor: written to the LRS by
another system) is about them, and is deleted as theirs are.

The statement keeps its id. xAPI statements are otherwise immutable; erasure is the one reason this LRS changes
one, and only to take a person out. Copies an external LRS already received are out of reach; the delivery
outbox sends the changed body.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from ..xapi.keys import agent_key
from .statements import IndexedStatement, delete_statements


def forget_agent(conn: sqlite3.Connection, key: str, indexed: Callable[[str], IndexedStatement]) -> tuple[int, int]:
    """Take the agent ``key`` out of every statement that still names it; the caller holds the transaction and has
    deleted the agent's own statements. Returns how many statements were changed and how many deleted."""
    row = conn.execute("SELECT id FROM lrs_terms WHERE term = ?", (key,)).fetchone()
    if row is None:
        return 0, 0
    number = row[0]
    changed, about = 0, []
    found = conn.execute("SELECT s.seq, s.body FROM statement_agents a CROSS JOIN statements s ON s.seq = a.seq"
                         " WHERE a.agent = ?", (number,)).fetchall()
    for seq, body in found:
        statement = json.loads(body)  # not orjson: a body may hold an integer past 64 bits, which xAPI keeps
        if not _out_of_team(statement, key) or key in indexed(_dumps(statement)).agents:
            about.append(seq)
            continue
        conn.execute("UPDATE statements SET body = ? WHERE seq = ?", (_dumps(statement), seq))
        conn.execute("DELETE FROM statement_agents WHERE agent = ? AND seq = ?", (number, seq))
        changed += 1
    return changed, delete_statements(conn, sorted(about), indexed)


def erase_term(conn: sqlite3.Connection, key: str) -> bool:
    """Take the agent ``key`` (their email address, with ``xapi_include_email``) out of ``lrs_terms`` once no
    index row refers to it; the caller holds the transaction and has taken the agent out of every statement.

    The row stays, with text that no term can have (every agent key, IRI and UUID has a colon or is hex), so its
    number is never given to another term: a writer that still knows the key's number (``TermNumbers``) can only
    index under a term nobody asks for, until it forgets the number (``Store.forget_terms``, and any other
    connection's commit in ``Store._current``). A same address registered again is numbered afresh."""
    row = conn.execute("SELECT id FROM lrs_terms WHERE term = ?", (key,)).fetchone()
    if row is None:
        return False
    number = row[0]
    for table in ("statement_agents", "statement_actors"):
        if conn.execute(f"SELECT 1 FROM {table} WHERE agent = ? LIMIT 1", (number,)).fetchone():  # noqa: S608
            return False
    conn.execute("UPDATE lrs_terms SET term = ? WHERE id = ?", (f"erased #{number}", number))
    return True


def _out_of_team(statement: dict[str, Any], key: str) -> bool:
    """Take the agent out of the statement's team and extensions, in place; False when it names them nowhere
    there (then it names them somewhere a team member is not named)."""
    context = statement.get("context")
    if not isinstance(context, dict):
        return False
    found = False
    team = context.get("team")
    if isinstance(team, dict) and isinstance(team.get("member"), list):
        members = [m for m in team["member"] if agent_key(m) != key]
        if len(members) != len(team["member"]):
            found = True
            if members:
                team["member"] = members
            else:
                del context["team"]  # an anonymous group must have a member
    for holder in (context, statement.get("result")):
        extensions = holder.get("extensions") if isinstance(holder, dict) else None
        if isinstance(extensions, dict):
            for name in [n for n, v in extensions.items() if isinstance(v, dict) and agent_key(v) == key]:
                del extensions[name]
                found = True
    return found


def _dumps(statement: dict[str, Any]) -> str:
    return json.dumps(statement, ensure_ascii=False, separators=(",", ":"))  # as the LRS writes a body
