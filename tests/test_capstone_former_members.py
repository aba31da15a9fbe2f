"""A deleted account's capstone ideas and comments stay with the team, credited to a former member (decision 0019)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from test_capstone_support import (
    CAPSTONE_YAML,
    COURSE,
    World,
    capstone_statements,
    check_statements,
    make_world,
    mount,
    post,
    stage_url,
    team_id,
)

from engine.capstone.statements import MOVED
from engine.storage import capstone as db
from engine.storage.db import Store
from engine.storage.migrations import MIGRATIONS
from engine.storage.statements import insert_statements
from engine.xapi.keys import agent_key, index
from helpers import database_at, make_course
from webhelpers import make_app


def test_deleting_an_account_keeps_its_ideas_and_comments_and_the_others_votes_on_them(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    store = world.store
    ada = world.person("ada@example.gov.uk", "Ada Lovelace")
    bob = world.person("bob@example.gov.uk", "Bob Babbage")
    assert post(ada, f"{COURSE}/capstone/teams", name="Form Fixers", department="Cabinet Office").status_code == 303
    team = team_id(store, "Form Fixers")
    code = store.conn.execute("SELECT join_code FROM capstone_teams WHERE id = ?", (team,)).fetchone()[0]
    assert post(bob, f"{COURSE}/capstone/join", code=code).status_code == 303
    ideas = stage_url(team, "ideas")
    assert post(bob, ideas, action="idea", title="Pre-fill the form", problem="People fill the same boxes twice.",
                change="Fill in what we already know.").status_code == 303
    [idea] = db.ideas(store, team)
    assert post(bob, ideas, action="comment", idea=idea.id, body="I can try it on form A1.").status_code == 303
    assert post(ada, ideas, action="comment", idea=idea.id, body="Yes, start with the address.").status_code == 303
    assert post(ada, ideas, action="vote", idea=idea.id, vote="up").status_code == 303
    assert post(bob, ideas, action="vote", idea=idea.id, vote="up").status_code == 303
    bob_id = store.user_by_email("bob@example.gov.uk").id  # type: ignore[union-attr]

    page = bob.get("/my-data")
    assert "stay with the team" in page.text and "a former member" in page.text
    assert post(bob, "/my-data/delete", confirm="yes").status_code == 303
    assert store.user_by_email("bob@example.gov.uk") is None

    [kept] = db.ideas(store, team)
    assert (kept.id, kept.title, kept.author) == (idea.id, "Pre-fill the form", db.FORMER_MEMBER)
    assert [(c.author.name, c.body) for c in kept.comments] == [
        ("a former member", "I can try it on form A1."), ("Ada Lovelace", "Yes, start with the address.")]
    # Bob's own vote goes with his account; Ada's stays.
    assert kept.votes == {store.user_by_email("ada@example.gov.uk").id: 1}  # type: ignore[union-attr]
    assert store.conn.execute("SELECT COUNT(*) FROM capstone_ideas WHERE author_id = ?", (bob_id,)).fetchone() == (0,)

    shown = ada.get(ideas).text
    assert "Posted by a former member" in shown and "A former member said:" in shown
    assert "Bob Babbage" not in shown and "bob@example.gov.uk" not in shown
    # Nobody can withdraw it now (only its author could): the form is not offered and the action is refused.
    assert f'id="withdraw-{kept.id}"' not in shown
    refused = post(ada, ideas, action="withdraw", idea=kept.id)
    assert refused.status_code == 422 and "Only the person who posted an idea can withdraw it" in refused.text
    assert db.ideas(store, team)[0].withdrawn_at is None


def test_migration_12_keeps_every_idea_comment_and_vote_and_credits_deleted_authors(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = database_at(path, 11)
    conn.execute("PRAGMA foreign_keys=ON")
    for n, name in enumerate(["Ada", "Bob", "Cat"], start=1):
        conn.execute("INSERT INTO users (id, public_id, name, email, department, password_hash, role, created_at)"
                     " VALUES (?, ?, ?, ?, 'Cabinet Office', 'x', 'learner', '2026-01-01')",
                     (n, f"p{n}", name, f"{name.lower()}@example.gov.uk"))
    conn.execute("INSERT INTO capstone_teams VALUES (1, 'https://c', 'Fixers', 'Cabinet Office', 'ABC123', 1, 't')")
    conn.execute("INSERT INTO capstone_teams VALUES (2, 'https://c', 'Menders', 'Cabinet Office', 'DEF456', 2, 't')")
    conn.execute("INSERT INTO capstone_ideas VALUES (1, 1, 1, 'One', 'p', 'c', 't1', NULL, NULL, NULL, NULL)")
    conn.execute("INSERT INTO capstone_ideas VALUES (2, 1, 2, 'Two', 'p', 'c', 't2', 't3', 'rude', 3, 't4')")
    conn.execute("INSERT INTO capstone_ideas VALUES (3, 2, 3, 'Three', 'p', 'c', 't5', NULL, NULL, NULL, NULL)")
    conn.execute("INSERT INTO capstone_comments VALUES (1, 1, 2, 'Yes', 't6', NULL, NULL, NULL)")
    conn.execute("INSERT INTO capstone_comments VALUES (2, 2, 1, 'Hmm', 't7', 'off topic', 3, 't8')")
    conn.executemany("INSERT INTO capstone_votes VALUES (?, ?, ?, 't9')", [(1, 2, 1), (1, 3, -1), (2, 1, 1)])
    before = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
              for t in ("capstone_ideas", "capstone_comments", "capstone_votes")}
    conn.close()

    store = Store(path)
    assert store.version == len(MIGRATIONS) >= 12
    c = store.conn
    for table, rows in before.items():
        assert c.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() == rows
    assert c.execute("PRAGMA foreign_key_check").fetchall() == []
    assert not [n for (n,) in c.execute("SELECT name FROM sqlite_master WHERE name LIKE '%\\_11' ESCAPE '\\'")]
    indexes = {n for (n,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"capstone_ideas_team", "capstone_comments_idea"} <= indexes
    assert "capstone_ideas_team" in {row[1] for row in c.execute("PRAGMA index_list(capstone_ideas)")}
    actions = {(table, row[3]): row[6] for table in ("capstone_ideas", "capstone_comments", "capstone_votes")
               for row in c.execute(f"PRAGMA foreign_key_list({table})")}
    assert actions[("capstone_ideas", "author_id")] == "SET NULL"
    assert actions[("capstone_comments", "author_id")] == "SET NULL"
    assert actions[("capstone_comments", "idea_id")] == "CASCADE"
    assert actions[("capstone_votes", "idea_id")] == "CASCADE"
    assert actions[("capstone_votes", "user_id")] == "CASCADE"
    # The references point at the new tables, not the renamed-aside ones.
    targets = {row[2] for table in ("capstone_comments", "capstone_votes")
               for row in c.execute(f"PRAGMA foreign_key_list({table})") if row[3] == "idea_id"}
    assert targets == {"capstone_ideas"}

    # Bob (2) deletes his account: his idea and comment stay, uncredited; his vote goes.
    store.delete_user(2)
    assert c.execute("SELECT id, author_id FROM capstone_ideas ORDER BY id").fetchall() == [(1, 1), (2, None), (3, 3)]
    assert c.execute("SELECT id, author_id FROM capstone_comments ORDER BY id").fetchall() == [(1, None), (2, 1)]
    assert c.execute("SELECT idea_id, user_id FROM capstone_votes ORDER BY 1, 2").fetchall() == [(1, 3), (2, 1)]
    assert [i.author for i in db.ideas(store, 1)] == [store.user_by_id(1), db.FORMER_MEMBER]
    # An idea's comments and votes still go with it, and a team's ideas with the team.
    with store.transaction() as conn2:
        conn2.execute("DELETE FROM capstone_ideas WHERE id = 1")
    assert c.execute("SELECT COUNT(*) FROM capstone_comments WHERE idea_id = 1").fetchone() == (0,)
    assert c.execute("SELECT COUNT(*) FROM capstone_votes WHERE idea_id = 1").fetchone() == (0,)
    with store.transaction() as conn2:
        conn2.execute("DELETE FROM capstone_teams WHERE id = 2")
    assert c.execute("SELECT COUNT(*) FROM capstone_ideas WHERE team_id = 2").fetchone() == (0,)


def test_a_deleted_account_is_taken_out_of_the_statements_of_others_that_name_it(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo", course_yaml=CAPSTONE_YAML)
    client, store = make_app(root, tmp_path / "capstone.db", xapi_include_email="true")
    mount(client)
    world = World(root, store, client)
    ada = world.person("ada.private@example.gov.uk", "Ada Private")
    bob = world.person("bob@example.gov.uk", "Bob Babbage")
    fay = world.person("fay@example.gov.uk", "Fay Facilitator", role="facilitator")
    post(bob, f"{COURSE}/capstone/teams", name="Alpha", department="Cabinet Office")
    team = team_id(store, "Alpha")
    assert post(fay, f"{COURSE}/capstone/facilitate/move", email="ada.private@example.gov.uk",
                team=str(team)).status_code == 303
    post(bob, stage_url(team, "ideas"), action="idea", title="Idea", problem="P", change="C")
    ada_key = "mbox:mailto:ada.private@example.gov.uk"
    others = [s["id"] for s in capstone_statements(store) if agent_key(s["actor"]) != ada_key]
    naming = "SELECT COUNT(*) FROM statements WHERE body LIKE '%ada.private%' OR body LIKE '%Ada Private%'"
    assert store.conn.execute(naming).fetchone()[0] > 0

    assert post(ada, "/my-data/delete", confirm="yes").status_code == 303
    # Her own statements went; the others' stay, without her: not in their team's members, not as the one moved.
    assert store.conn.execute(naming).fetchone()[0] == 0
    assert [s["id"] for s in check_statements(store)] == others
    moved = next(s for s in capstone_statements(store) if s["verb"]["display"]["en-US"] == "moved")
    assert MOVED not in moved["context"]["extensions"]
    assert [m["name"] for m in moved["context"]["team"]["member"]] == ["Bob Babbage"]
    # Nor does the LRS's agent index find her in them, and her address is not in its table of terms.
    assert store.conn.execute("SELECT COUNT(*) FROM lrs_terms WHERE term LIKE '%ada.private%'").fetchone() == (0,)


def test_a_statement_that_names_a_deleted_account_other_than_as_a_member_goes_with_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    gone = {"objectType": "Agent", "mbox": "mailto:gone@example.gov.uk", "name": "Gone"}
    other = {"objectType": "Agent", "mbox": "mailto:other@example.gov.uk", "name": "Other"}
    verb = {"id": "http://adlnet.gov/expapi/verbs/experienced"}
    made = [
        {"actor": other, "verb": verb, "object": gone},  # about her: goes
        {"actor": other, "verb": verb, "object": {"id": "https://example.org/a"},
         "context": {"instructor": gone}},  # about her: goes
        {"actor": other, "verb": verb, "object": {"id": "https://example.org/b"},
         "context": {"team": {"objectType": "Group", "member": [gone]}}},  # her team of one: the team goes
        {"actor": other, "verb": verb, "object": {"id": "https://example.org/c"}},  # nothing to do with her
    ]
    with store.transaction() as conn:
        insert_statements(conn, [index({**s, "id": str(uuid.uuid4()), "stored": "2026-11-28T12:00:00.000Z",
                                        "timestamp": "2026-11-28T12:00:00.000Z"}) for s in made],
                          endpoints=["https://lrs.example.org/xapi/"], now="2026-11-28T12:00:00.000Z")
    store.delete_user(0, actor_keys=[agent_key(gone)])
    left = [json.loads(body) for (body,) in store.conn.execute("SELECT body FROM statements ORDER BY seq")]
    assert [s["object"]["id"] for s in left] == ["https://example.org/b", "https://example.org/c"]
    assert "team" not in left[0]["context"]
    assert store.conn.execute("SELECT COUNT(*) FROM statement_agents").fetchone()[0] == 2  # "Other" in each
    assert store.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 2  # queued as they are now
