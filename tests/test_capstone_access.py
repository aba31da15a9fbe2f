"""Access control for every capstone route: team content is for its members and facilitators until published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from test_capstone_support import COURSE, World, make_world, post, stage_url, tables, team_id

from engine.storage import capstone as db

STAGES = ["ideas", "agree", "plan", "measure", "reflect", "share"]


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def _team(world: World) -> tuple[TestClient, TestClient, int, dict[str, Any]]:
    """A team of two (Ada, Bob) with an idea, a comment, a proposal, a plan and a draft; and its ids."""
    ada = world.person("ada@example.gov.uk", "Ada Lovelace")
    bob = world.person("bob@example.gov.uk", "Bob Babbage")
    post(ada, f"{COURSE}/capstone/teams", name="Alpha", department="Cabinet Office")
    team = team_id(world.store, "Alpha")
    code = db.team(world.store, team).join_code  # type: ignore[union-attr]
    post(bob, f"{COURSE}/capstone/join", code=code)
    post(ada, stage_url(team, "ideas"), action="idea", title="Idea", problem="P", change="C")
    idea = db.ideas(world.store, team)[0].id
    post(bob, stage_url(team, "ideas"), action="comment", idea=idea, body="Nice")
    post(ada, stage_url(team, "plan"), action="save", hypothesis="H", change="C", measure_1_name="M",
         measure_1_unit="u", measure_1_baseline="1", start_date="2026-01-01", review_date="2026-02-01")
    post(ada, stage_url(team, "share"), action="save", version="0", title="T", problem="P", change="C",
         results="R", lessons="L", recommend="Y", outcome="worked", theme="Other")
    ids = {"idea": idea, "comment": db.ideas(world.store, team)[0].comments[0].id,
           "measure": db.measures(world.store, team)[0].id, "case": db.case_study(world.store, team).id,  # type: ignore[union-attr]
           "code": code}
    return ada, bob, team, ids


def _writes(team: int, ids: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every POST a team member can make, with valid data."""
    return [
        (stage_url(team, "ideas"), {"action": "idea", "title": "X", "problem": "P", "change": "C"}),
        (stage_url(team, "ideas"), {"action": "comment", "idea": ids["idea"], "body": "B"}),
        (stage_url(team, "ideas"), {"action": "vote", "idea": ids["idea"], "vote": "up"}),
        (stage_url(team, "ideas"), {"action": "withdraw", "idea": ids["idea"]}),
        (stage_url(team, "agree"), {"action": "propose", "change": "C", "reason": "R", "ideas": ids["idea"]}),
        (stage_url(team, "agree"), {"action": "confirm", "decision": 1}),
        (stage_url(team, "plan"), {"action": "save", "hypothesis": "H", "change": "C", "measure_1_name": "N",
                                   "measure_1_unit": "u", "measure_1_baseline": "2", "start_date": "2026-01-01",
                                   "review_date": "2026-01-02"}),
        (stage_url(team, "measure"), {"action": "measure", "measure": ids["measure"], "taken_on": "2026-01-05",
                                      "value": "3"}),
        (stage_url(team, "reflect"), {"action": "reflect", "worked": "W", "not_worked": "N", "advice": "A"}),
        (stage_url(team, "share"), {"action": "save", "version": "1", "title": "T2", "problem": "P", "change": "C",
                                    "results": "R", "lessons": "L", "recommend": "Y", "outcome": "worked",
                                    "theme": "Other"}),
        (stage_url(team, "share"), {"action": "confirm", "version": "1"}),
        (f"{COURSE}/capstone/teams/{team}/hide", {"kind": "idea", "id": ids["idea"], "reason": "R",
                                                   "stage": "ideas"}),
        (f"{COURSE}/capstone/teams/{team}/leave", {}),
    ]


def _reads(team: int) -> list[str]:
    return [f"{COURSE}/capstone/teams/{team}/"] + [stage_url(team, s) for s in STAGES]


def test_another_teams_learner_can_neither_read_nor_write(world: World) -> None:
    _ada, _bob, team, ids = _team(world)
    eve = world.person("eve@example.gov.uk", "Eve Outsider")
    post(eve, f"{COURSE}/capstone/teams", name="Other team", department="Cabinet Office")
    for path in _reads(team):
        response = eve.get(path)
        assert response.status_code == 403, path
        assert "Idea" not in response.text and "Alpha" not in response.text
    before = tables(world.store)
    statements = world.store.conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0]
    for path, data in _writes(team, ids):
        assert post(eve, path, **data).status_code == 403, (path, data)
    assert tables(world.store) == before
    assert world.store.conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0] == statements


def test_signed_out_visitors_are_sent_to_sign_in(world: World) -> None:
    _ada, _bob, team, ids = _team(world)
    visitor = TestClient(world.base.app, follow_redirects=False)
    paths = [*_reads(team), f"{COURSE}/capstone/", f"{COURSE}/gallery/", f"{COURSE}/gallery/{ids['case']}",
             f"{COURSE}/capstone/join/{ids['code']}", f"{COURSE}/capstone/facilitate"]
    for path in paths:
        response = visitor.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/sign-in"), path
    for path, data in _writes(team, ids):
        assert post(visitor, path, **data).status_code in (303, 403), path
    assert world.store.conn.execute("SELECT COUNT(*) FROM capstone_ideas").fetchone()[0] == 1


def test_forms_without_the_csrf_token_are_refused(world: World) -> None:
    ada, _bob, team, ids = _team(world)
    before = tables(world.store)
    for path, data in _writes(team, ids):
        assert ada.post(path, data=data).status_code == 403, path
    assert tables(world.store) == before


def test_facilitators_see_their_departments_teams_and_cannot_act_as_members(world: World) -> None:
    _ada, _bob, team, ids = _team(world)
    fay = world.person("fay@example.gov.uk", "Fay Facilitator", role="facilitator")
    other = world.person("gus@example.gov.uk", "Gus Facilitator", department="Home Office", role="facilitator")
    for path in _reads(team):
        assert fay.get(path).status_code == 200, path
        assert other.get(path).status_code == 403, path
    listing = fay.get(f"{COURSE}/capstone/facilitate")
    assert listing.status_code == 200 and "Alpha" in listing.text
    assert "Alpha" not in other.get(f"{COURSE}/capstone/facilitate").text
    # A decision by a non-member: a clear message next to the field, nothing changed.
    before = tables(world.store)
    response = post(fay, stage_url(team, "agree"), action="propose", change="C", reason="R", ideas=ids["idea"])
    assert response.status_code == 422 and "Only members of Alpha can propose" in response.text
    assert 'href="#change"' in response.text
    assert tables(world.store) == before
    # Learners cannot reach the facilitator pages.
    learner = world.person("hal@example.gov.uk", "Hal Learner")
    assert learner.get(f"{COURSE}/capstone/facilitate").status_code == 403
    assert post(learner, f"{COURSE}/capstone/facilitate/move", email="ada@example.gov.uk",
                team=team).status_code == 403
    assert post(other, stage_url(team, "ideas").rsplit("/", 1)[0] + "/hide", kind="idea", id=ids["idea"],
                reason="R").status_code == 403


def test_unpublished_case_studies_are_not_in_the_gallery(world: World) -> None:
    _ada, _bob, _team_id, ids = _team(world)
    eve = world.person("eve@example.gov.uk", "Eve Outsider")
    assert eve.get(f"{COURSE}/gallery/{ids['case']}").status_code == 404
    assert post(eve, f"{COURSE}/gallery/{ids['case']}/kudos").status_code == 404
    assert "0 case studies" in eve.get(f"{COURSE}/gallery/").text


def test_unknown_teams_stages_and_courses(world: World) -> None:
    ada, _bob, team, _ids = _team(world)
    assert ada.get(f"{COURSE}/capstone/teams/999/").status_code == 404
    assert ada.get(f"{COURSE}/capstone/teams/abc/ideas").status_code == 404
    assert ada.get(stage_url(team, "nope")).status_code == 404
    assert post(ada, stage_url(team, "ideas"), action="nope").status_code == 400  # no page sends it
    assert ada.get(f"{COURSE}/capstone/join/NOPE1234").status_code == 404
    assert ada.get("/nocourse/capstone/").status_code == 404
