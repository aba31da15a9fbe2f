"""Capstone rules: bad input changes nothing, text is escaped, drafts are not overwritten, teams keep their limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient
from test_capstone_support import (
    CAPSTONE_YAML,
    COURSE,
    World,
    check_statements,
    error_for,
    hrefs,
    make_world,
    post,
    stage_url,
    tables,
    team_id,
)

from engine.capstone import chart, rules
from engine.storage import capstone as db


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def _pair(world: World) -> tuple[TestClient, TestClient, int]:
    ada = world.person("ada@example.gov.uk", "Ada Lovelace")
    bob = world.person("bob@example.gov.uk", "Bob Babbage")
    post(ada, f"{COURSE}/capstone/teams", name="Alpha", department="Cabinet Office")
    team = team_id(world.store, "Alpha")
    post(bob, f"{COURSE}/capstone/join", code=db.team(world.store, team).join_code)  # type: ignore[union-attr]
    return ada, bob, team


def test_majority_rule() -> None:
    assert [rules.majority(c, 3) for c in range(4)] == [False, False, True, True]
    assert [rules.majority(c, 4) for c in range(5)] == [False, False, False, True, True]
    assert not rules.majority(0, 0) and rules.needed_for_majority(2) == 2


def test_empty_and_oversized_fields(world: World) -> None:
    ada, _bob, team = _pair(world)
    before = tables(world.store)
    cases = [
        ("ideas", {"action": "idea", "title": "", "problem": "P", "change": "C"}, "title", "Enter a title for your idea"),
        ("ideas", {"action": "idea", "title": "x" * 121, "problem": "P", "change": "C"}, "title",
         "A title for your idea must be 120 characters or fewer"),
        ("ideas", {"action": "idea", "title": "T", "problem": "p" * 2001, "change": "C"}, "problem",
         "must be 2,000 characters or fewer"),
        ("plan", {"action": "save", "hypothesis": "", "change": "C", "measure_1_name": "M", "measure_1_unit": "u",
                  "measure_1_baseline": "ten", "start_date": "2026-02-30", "review_date": "2026-01-01"},
         "hypothesis", "Enter your hypothesis"),
        ("reflect", {"action": "reflect", "worked": " ", "not_worked": "N", "advice": "A"}, "worked",
         "Enter what worked"),
        ("share", {"action": "save", "version": "0", "title": "T", "problem": "", "change": "C", "results": "R",
                   "lessons": "L", "recommend": "Y", "outcome": "maybe", "theme": "Other"}, "outcome",
         "Select whether the change worked"),
    ]
    for stage, data, field, message in cases:
        response = post(ada, stage_url(team, stage), **data)
        assert response.status_code == 422, (stage, data)
        assert error_for(response.text, field, message), (stage, message, response.text[:3000])
        assert "<title>Error:" in response.text
    plan = post(ada, stage_url(team, "plan"), action="save", hypothesis="", change="C", measure_1_name="M",
                measure_1_unit="u", measure_1_baseline="ten", start_date="2026-02-30", review_date="2026-01-01")
    assert error_for(plan.text, "measure_1_baseline", "must be a number")
    assert error_for(plan.text, "start_date", "must be a real date")
    assert 'value="ten"' in plan.text  # what was typed is shown again
    assert tables(world.store) == before
    assert error_for(post(ada, f"{COURSE}/capstone/join", code="").text, "code", "Enter the join code")


def test_votes_on_withdrawn_ideas_and_unknown_measures(world: World) -> None:
    ada, bob, team = _pair(world)
    post(ada, stage_url(team, "ideas"), action="idea", title="Idea", problem="P", change="C")
    idea = db.ideas(world.store, team)[0].id
    post(bob, stage_url(team, "ideas"), action="comment", idea=idea, body="Hmm")
    # Bob cannot withdraw Ada's idea; Ada can, and it stays, credited.
    refused = post(bob, stage_url(team, "ideas"), action="withdraw", idea=idea)
    assert refused.status_code == 422 and "Only the person who posted an idea can withdraw it" in refused.text
    assert post(ada, stage_url(team, "ideas"), action="withdraw", idea=idea).status_code == 303
    before = tables(world.store)
    response = post(bob, stage_url(team, "ideas"), action="vote", idea=idea, vote="up")
    assert response.status_code == 422 and error_for(response.text, f"vote-{idea}", "You cannot vote on a withdrawn idea")
    assert post(bob, stage_url(team, "ideas"), action="comment", idea=idea, body="x").status_code == 422
    assert tables(world.store) == before
    kept = db.ideas(world.store, team)[0]
    assert kept.withdrawn_at and kept.author.name == "Ada Lovelace" and kept.comments

    # No plan yet: a measurement has no measure; with a plan, an unknown measure is refused.
    response = post(ada, stage_url(team, "measure"), action="measure", measure="1", taken_on="2026-01-01", value="1")
    assert error_for(response.text, "measure", "Plan your experiment")
    post(ada, stage_url(team, "plan"), action="save", hypothesis="H", change="C", measure_1_name="M",
         measure_1_unit="u", measure_1_baseline="1", start_date="2026-01-01", review_date="2026-02-01")
    response = post(ada, stage_url(team, "measure"), action="measure", measure="999", taken_on="2026-01-02",
                    value="2")
    assert response.status_code == 422 and error_for(response.text, "measure", "Select one of the measures")
    assert world.store.conn.execute("SELECT COUNT(*) FROM capstone_measurements").fetchone()[0] == 0


def test_a_case_study_cannot_be_submitted_before_its_stages(world: World) -> None:
    ada, _bob, team = _pair(world)
    post(ada, stage_url(team, "share"), action="save", version="0", title="T", problem="P", change="C",
         results="R", lessons="L", recommend="Y", outcome="did_not_work", theme="Other")
    response = post(ada, stage_url(team, "share"), action="confirm", version="1")
    assert response.status_code == 422
    assert error_for(response.text, "confirm", "Complete these stages before you submit your case study: Share "
                                               "ideas, Agree your small change")
    case = db.case_study(world.store, team)
    assert case is not None and case.status == "draft" and case.confirmed_by == []


def test_two_members_editing_one_draft_cannot_overwrite_each_other(world: World) -> None:
    ada, bob, team = _pair(world)
    fields = {"action": "save", "problem": "P", "change": "C", "results": "R", "lessons": "L", "recommend": "Y",
              "outcome": "worked", "theme": "Other"}
    assert post(ada, stage_url(team, "share"), version="0", title="First", **fields).status_code == 303
    # Both open version 1; Ada saves first; Bob's save is refused with a clear message showing Ada's text.
    assert post(ada, stage_url(team, "share"), version="1", title="Ada's title", **fields).status_code == 303
    response = post(bob, stage_url(team, "share"), version="1", title="Bob's title", **fields)
    assert response.status_code == 409
    assert "Someone else changed this draft since you opened it" in response.text
    assert "Ada&#39;s title" in response.text and 'value="Bob&#39;s title"' in response.text
    assert 'name="version" value="2"' in response.text
    case = db.case_study(world.store, team)
    assert case is not None and case.title == "Ada's title" and case.version == 2
    # A second team draft from version 0 is refused too.
    assert post(bob, stage_url(team, "share"), version="0", title="New", **fields).status_code == 409
    # Confirming a version that is no longer current is refused.
    stale = post(bob, stage_url(team, "share"), action="confirm", version="1")
    assert stale.status_code == 422 and "Someone else changed this draft since you opened it" in stale.text


def test_text_is_stored_as_typed_and_escaped(world: World) -> None:
    ada, _bob, team = _pair(world)
    evil = '<script>alert("x")</script> <a href="javascript:alert(1)">click</a> & more'
    post(ada, stage_url(team, "ideas"), action="idea", title=evil, problem="javascript:alert(1)\n<b>bold</b>",
         change="C")
    assert db.ideas(world.store, team)[0].title == evil
    html = ada.get(stage_url(team, "ideas")).text
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert not any(h.startswith("javascript:") for h in hrefs(html))
    post(ada, stage_url(team, "share"), action="save", version="0", title=evil, problem="See https://x.test",
         change="C", results="R", lessons="L", recommend="Y", outcome="worked", theme="Other")
    page = ada.get(stage_url(team, "share")).text
    assert "<script>alert" not in page and not any(h.startswith("javascript:") for h in hrefs(page))


def test_team_rules(world: World) -> None:
    ada, _bob, team = _pair(world)
    code = db.team(world.store, team).join_code  # type: ignore[union-attr]
    # One active team per learner per course.
    again = post(ada, f"{COURSE}/capstone/teams", name="Second", department="Cabinet Office")
    assert again.status_code == 422 and "already in a team" in again.text
    # The size limit (max 3).
    cat = world.person("cat@example.gov.uk", "Cat Hopper")
    assert post(cat, f"{COURSE}/capstone/join", code=code).status_code == 303
    dan = world.person("dan@example.gov.uk", "Dan Data")
    full = post(dan, f"{COURSE}/capstone/join", code=code)
    assert full.status_code == 422 and error_for(full.text, "code", "Alpha is full: a team can have up to 3 members")
    by_link = post(dan, f"{COURSE}/capstone/join/{code}")
    assert by_link.status_code == 422 and "Alpha is full" in by_link.text
    assert error_for(post(dan, f"{COURSE}/capstone/join", code="ZZZZZZZZ").text, "code", "There is no team")
    # Leaving: the learner's ideas stay, credited.
    post(cat, stage_url(team, "ideas"), action="idea", title="Cat's idea", problem="P", change="C")
    assert post(cat, f"{COURSE}/capstone/teams/{team}/leave").status_code == 303
    assert [m.name for m in db.members(world.store, team)] == ["Ada Lovelace", "Bob Babbage"]
    assert db.ideas(world.store, team)[0].author.name == "Cat Hopper"
    assert cat.get(stage_url(team, "ideas")).status_code == 403
    # A team of one cannot agree a decision (min 2).
    post(dan, f"{COURSE}/capstone/teams", name="Solo", department="Cabinet Office")
    solo = team_id(world.store, "Solo")
    post(dan, stage_url(solo, "ideas"), action="idea", title="I", problem="P", change="C")
    idea = db.ideas(world.store, solo)[0].id
    response = post(dan, stage_url(solo, "agree"), action="propose", change="C", reason="R", ideas=str(idea))
    assert response.status_code == 422 and "needs at least 2 members" in response.text
    # A facilitator moves Cat into Solo.
    fay = world.person("fay@example.gov.uk", "Fay Facilitator", role="facilitator")
    moved = post(fay, f"{COURSE}/capstone/facilitate/move", email="cat@example.gov.uk", team=str(solo))
    assert moved.status_code == 303
    assert [m.name for m in db.members(world.store, solo)] == ["Dan Data", "Cat Hopper"]
    bad = post(fay, f"{COURSE}/capstone/facilitate/move", email="nobody@example.gov.uk", team="")
    assert bad.status_code == 422 and error_for(bad.text, "email", "Enter the email address of someone")
    assert error_for(bad.text, "team", "Select the team")
    assert "moved" in [s["verb"]["display"]["en-US"] for s in check_statements(world.store)]


def test_a_facilitator_moves_only_people_of_their_department_out_of_teams_they_manage(world: World) -> None:
    # A Home Office team, and a Cabinet Office facilitator with a team of her department.
    hana = world.person("hana@example.gov.uk", "Hana Home", department="Home Office")
    hugo = world.person("hugo@example.gov.uk", "Hugo Home", department="Home Office")
    post(hana, f"{COURSE}/capstone/teams", name="HO team", department="Home Office")
    home = team_id(world.store, "HO team")
    post(hugo, f"{COURSE}/capstone/join", code=db.team(world.store, home).join_code)  # type: ignore[union-attr]
    fay = world.person("fay@example.gov.uk", "Fay Facilitator", role="facilitator")
    cleo = world.person("cleo@example.gov.uk", "Cleo Cabinet")
    post(cleo, f"{COURSE}/capstone/teams", name="CO team", department="Cabinet Office")
    cabinet = team_id(world.store, "CO team")
    before = world.store.conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0]
    # Not another department's learner: she would see their progress on her team's page, which her reports never
    # show her.
    refused = post(fay, f"{COURSE}/capstone/facilitate/move", email="hugo@example.gov.uk", team=str(cabinet))
    assert refused.status_code == 422
    assert error_for(refused.text, "email", "You can move only people from Cabinet Office")
    assert [m.name for m in db.members(world.store, home)] == ["Hana Home", "Hugo Home"]
    assert [m.name for m in db.members(world.store, cabinet)] == ["Cleo Cabinet"]
    assert world.store.conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0] == before
    # Nor one of her department out of a team she cannot manage.
    carl = world.person("carl@example.gov.uk", "Carl Cabinet")
    post(carl, f"{COURSE}/capstone/join", code=db.team(world.store, home).join_code)  # type: ignore[union-attr]
    assert "Carl Cabinet" in [m.name for m in db.members(world.store, home)]
    before = world.store.conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0]
    refused = post(fay, f"{COURSE}/capstone/facilitate/move", email="carl@example.gov.uk", team=str(cabinet))
    assert refused.status_code == 422
    assert error_for(refused.text, "email", "Carl Cabinet is in HO team, a team you cannot manage")
    assert "Carl Cabinet" in [m.name for m in db.members(world.store, home)]
    assert world.store.conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0] == before
    # An admin may do both.
    admin = world.person("root@example.gov.uk", "Ada Admin", role="admin")
    moved = post(admin, f"{COURSE}/capstone/facilitate/move", email="hugo@example.gov.uk", team=str(cabinet))
    assert moved.status_code == 303
    assert [m.name for m in db.members(world.store, cabinet)] == ["Cleo Cabinet", "Hugo Home"]


def test_same_department_teams(tmp_path: Path) -> None:
    world = make_world(tmp_path, CAPSTONE_YAML.replace("team_size: {min: 2, max: 3}",
                                                       "team_size: {min: 2, max: 3}\n  same_department: true"))
    ada = world.person("ada@example.gov.uk", "Ada Lovelace")
    wrong = post(ada, f"{COURSE}/capstone/teams", name="Alpha", department="Home Office")
    assert error_for(wrong.text, "department", "choose Cabinet Office")
    post(ada, f"{COURSE}/capstone/teams", name="Alpha", department="Cabinet Office")
    code = db.team(world.store, team_id(world.store, "Alpha")).join_code  # type: ignore[union-attr]
    outsider = world.person("ho@example.gov.uk", "Home Officer", department="Home Office")
    response = post(outsider, f"{COURSE}/capstone/join", code=code)
    assert response.status_code == 422 and "a team from Cabinet Office" in response.text
    # Nor can an admin move them in.
    admin = world.person("root@example.gov.uk", "Ada Admin", role="admin")
    moved = post(admin, f"{COURSE}/capstone/facilitate/move", email="ho@example.gov.uk",
                 team=str(team_id(world.store, "Alpha")))
    assert moved.status_code == 422 and error_for(moved.text, "team", "Alpha is a team from Cabinet Office")
    assert "Home Officer" not in [m.name for m in db.members(world.store, team_id(world.store, "Alpha"))]


def test_facilitators_hide_content_with_a_reason(world: World) -> None:
    ada, bob, team = _pair(world)
    post(ada, stage_url(team, "ideas"), action="idea", title="Rude idea", problem="P", change="C")
    idea = db.ideas(world.store, team)[0].id
    post(bob, stage_url(team, "ideas"), action="comment", idea=idea, body="Rude comment")
    comment = db.ideas(world.store, team)[0].comments[0].id
    fay = world.person("fay@example.gov.uk", "Fay Facilitator", role="facilitator")
    hide = f"{COURSE}/capstone/teams/{team}/hide"
    empty = post(fay, hide, kind="idea", id=str(idea), reason="", stage="ideas")
    assert empty.status_code == 422 and error_for(empty.text, f"reason-idea-{idea}", "Enter the reason")
    assert post(fay, hide, kind="idea", id=str(idea), reason="Not respectful", stage="ideas").status_code == 303
    assert post(fay, hide, kind="comment", id=str(comment), reason="Off topic", stage="ideas").status_code == 303
    assert post(ada, hide, kind="idea", id=str(idea), reason="x", stage="ideas").status_code == 403
    # Still in the record, for audit; its author is told why; others see only that it is hidden.
    stored = db.ideas(world.store, team)[0]
    assert stored.title == "Rude idea" and stored.hidden_reason == "Not respectful"
    assert stored.comments[0].body == "Rude comment" and stored.comments[0].hidden_reason == "Off topic"
    author_view = ada.get(stage_url(team, "ideas")).text
    assert "Reason: Not respectful" in author_view and "Rude idea" not in author_view
    assert "Reason: Off topic" not in author_view and "Rude comment" not in author_view
    other_view = bob.get(stage_url(team, "ideas")).text
    assert "Reason: Off topic" in other_view and "Reason: Not respectful" not in other_view
    assert "hid" in [s["verb"]["display"]["en-US"] for s in check_statements(world.store)]
    # Hidden ideas cannot be voted on.
    assert "cannot vote on an idea a facilitator has hidden" in post(
        bob, stage_url(team, "ideas"), action="vote", idea=idea, vote="up").text


def test_chart_is_accessible_and_escaped() -> None:
    measure = db.Measure(1, 1, "<Wait> time", "min & sec", 10.0)
    points = [db.Measurement(1, 1, "2026-01-01", 12, "", None, ""),
              db.Measurement(2, 1, "2026-01-08", 7.5, "", None, "")]
    svg = str(chart.svg(measure, points, "c1"))
    assert svg.startswith('<svg class="mc-chart" role="img" aria-labelledby="c1-title c1-desc"')
    assert '<title id="c1-title">&lt;Wait&gt; time (min &amp; sec) against its baseline</title>' in svg
    assert "2.5 min &amp; sec below the baseline of 10" in svg
    assert 'stroke-dasharray="8 6"' in svg and svg.count("<circle") == 2
    empty = str(chart.svg(measure, [], "c2"))
    assert "No measurements of &lt;Wait&gt; time yet" in empty and "<polyline" not in empty
