"""Three learners form a team, go through every stage, publish a case study and see it in the gallery."""

from __future__ import annotations

import json
import re
from pathlib import Path

from test_capstone_support import COURSE, check_statements, make_world, post, stage_url, team_id

from course import build
from engine import progress
from engine.capstone import capstone_done, capstone_status
from engine.storage import capstone as db


def test_migration_3_adds_the_capstone_tables(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    assert world.store.version >= 3
    assert {"capstone_teams", "capstone_ideas", "capstone_case_studies"} <= {
        n for (n,) in world.store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_three_learners_complete_the_capstone(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    store = world.store
    ada = world.person("ada@example.gov.uk", "Ada Lovelace")
    bob = world.person("bob@example.gov.uk", "Bob Babbage")
    cat = world.person("cat@example.gov.uk", "Cat Hopper", department="Home Office")

    # No team yet: the capstone page offers to create or join one.
    start = ada.get(f"{COURSE}/capstone/")
    assert start.status_code == 200 and "Create team" in start.text and "Join team" in start.text

    created = post(ada, f"{COURSE}/capstone/teams", name="Form Fixers", department="Cabinet Office")
    assert created.status_code == 303
    team = team_id(store, "Form Fixers")
    assert created.headers["location"] == f"{COURSE}/capstone/teams/{team}/"
    code = store.conn.execute("SELECT join_code FROM capstone_teams WHERE id = ?", (team,)).fetchone()[0]
    overview = ada.get(f"{COURSE}/capstone/teams/{team}/")
    assert overview.status_code == 200 and code in overview.text and f"/capstone/join/{code}" in overview.text
    # The link to share is on the service's own address (base_url), whatever Host the request said.
    elsewhere = ada.get(f"{COURSE}/capstone/teams/{team}/", headers={"Host": "evil.example"})
    assert "evil.example" not in elsewhere.text
    assert f"http://127.0.0.1:8000{COURSE}/capstone/join/{code}" in elsewhere.text

    # Bob joins with the code, Cat with the link.
    assert post(bob, f"{COURSE}/capstone/join", code=code.lower()).status_code == 303
    link = cat.get(f"{COURSE}/capstone/join/{code}")
    assert link.status_code == 200 and "Join Form Fixers" in link.text
    assert post(cat, f"{COURSE}/capstone/join/{code}").status_code == 303
    assert [m.name for m in db.members(store, team)] == ["Ada Lovelace", "Bob Babbage", "Cat Hopper"]
    assert bob.get(f"{COURSE}/capstone/").headers["location"] == f"{COURSE}/capstone/teams/{team}/"

    # Ideas: each member posts one; others comment and vote (changeable).
    ideas = stage_url(team, "ideas")
    for client, title in ((ada, "Pre-fill the form"), (bob, "One page guide"), (cat, "Drop the fax step")):
        response = post(client, ideas, action="idea", title=title, problem="People fill the same boxes twice.",
                        change="Fill in what we already know.")
        assert response.status_code == 303, response.text
    idea_ids = {i.title: i.id for i in db.ideas(store, team)}
    first = idea_ids["Pre-fill the form"]
    assert post(bob, ideas, action="comment", idea=first, body="Yes!\nWe could start with the address.").status_code == 303
    assert post(cat, ideas, action="vote", idea=first, vote="down").status_code == 303
    assert post(cat, ideas, action="vote", idea=first, vote="up").status_code == 303
    assert post(bob, ideas, action="vote", idea=first, vote="up").status_code == 303
    assert db.idea(store, team, first).votes == {  # type: ignore[union-attr]
        store.user_by_email("cat@example.gov.uk").id: 1, store.user_by_email("bob@example.gov.uk").id: 1}  # type: ignore[union-attr]
    assert post(cat, ideas, action="withdraw", idea=idea_ids["Drop the fax step"]).status_code == 303
    page = ada.get(ideas).text
    assert "Withdrawn" in page and "Drop the fax step" in page and "Yes!<br>We could start" in page
    assert "For: 2. Against: 0." in page

    # Decision: Ada proposes (and so confirms), Bob confirms: 2 of 3 is a majority.
    agree = stage_url(team, "agree")
    proposed = post(ada, agree, action="propose", change="Pre-fill the address on form A1",
                    reason="Most votes and easy to try", ideas=[str(first), str(idea_ids["One page guide"])])
    assert proposed.status_code == 303, proposed.text
    decision = db.decisions(store, team)[0]
    assert decision.agreed_at is None
    assert post(bob, agree, action="confirm", decision=decision.id).status_code == 303
    decision = db.decisions(store, team)[0]
    assert decision.agreed_at and len(decision.confirmed_by) == 2
    assert "Confirmed by: Ada Lovelace, Bob Babbage." in cat.get(agree).text

    # Plan, then measurements against it.
    planned = post(cat, stage_url(team, "plan"), action="save", hypothesis="Pre-filling saves time.",
                   change="The address is pre-filled.", measure_1_name="Time to complete", measure_1_unit="minutes",
                   measure_1_baseline="12", start_date="2026-03-02", review_date="2026-03-30")
    assert planned.status_code == 303, planned.text
    measure_id = db.measures(store, team)[0].id
    for day, value in (("2026-03-09", "10"), ("2026-03-16", "8.5")):
        response = post(bob, stage_url(team, "measure"), action="measure", measure=measure_id, taken_on=day,
                        value=value, note="Week of " + day)
        assert response.status_code == 303, response.text
    chart_page = ada.get(stage_url(team, "measure")).text
    assert '<svg class="mc-chart" role="img" aria-labelledby="chart-1-title chart-1-desc"' in chart_page
    assert 'stroke-dasharray' in chart_page and "<table" in chart_page and "8.5" in chart_page

    # Reflections from every member.
    for client in (ada, bob, cat):
        response = post(client, stage_url(team, "reflect"), action="reflect", worked="Quick to try.",
                        not_worked="Took a while to agree.", advice="Measure before you start.")
        assert response.status_code == 303, response.text

    # Case study: Ada drafts, Bob edits, two members confirm: submitted and published.
    share = stage_url(team, "share")
    draft = {"action": "save", "title": "Pre-filled forms", "problem": "Duplicate typing.",
             "change": "Pre-fill the address.", "results": "12 to 8.5 minutes.", "lessons": "Start small.",
             "recommend": "Yes.", "outcome": "worked", "theme": "Process and paperwork"}
    assert post(ada, share, version="0", **draft).status_code == 303
    assert post(bob, share, version="1", **{**draft, "outcome": "partly"}).status_code == 303
    case = db.case_study(store, team)
    assert case is not None and case.version == 2 and case.outcome == "partly"
    assert post(ada, share, action="confirm", version="2").status_code == 303
    assert db.case_study(store, team).status == "draft"  # type: ignore[union-attr]
    assert post(cat, share, action="confirm", version="2").status_code == 303
    case = db.case_study(store, team)
    assert case is not None and case.status == "published" and case.published_at

    # Every stage is complete, and the capstone for each member.
    rt_course = build(world.root).course
    assert rt_course is not None
    for email in ("ada@example.gov.uk", "bob@example.gov.uk", "cat@example.gov.uk"):
        user = store.user_by_email(email)
        assert user is not None
        status = capstone_status(store, rt_course, user)
        assert status is not None and status.completed and status.status_text == "Completed"
        assert [s.status for s in status.stages] == ["completed"] * 6
        assert capstone_done(store, rt_course, user.id)

    # A colleague from another department finds it in the gallery and gives kudos.
    dan = world.person("dan@example.gov.uk", "Dan Data", department="HM Treasury")
    gallery = dan.get(f"{COURSE}/gallery/?q=pre-filled&department=Cabinet+Office&outcome=partly")
    assert gallery.status_code == 200 and "Pre-filled forms" in gallery.text and "1 case study" in gallery.text
    assert "0 case studies" in dan.get(f"{COURSE}/gallery/?outcome=did_not_work").text
    detail = dan.get(f"{COURSE}/gallery/{case.id}")
    assert detail.status_code == 200
    assert "Pre-fill the form" in detail.text and "Drop the fax step" in detail.text and "mc-chart" in detail.text
    assert post(dan, f"{COURSE}/gallery/{case.id}/kudos").status_code == 303
    assert post(dan, f"{COURSE}/gallery/{case.id}/kudos").status_code == 303
    assert db.kudos(store, case.id) == [dan_id := store.user_by_email("dan@example.gov.uk").id]  # type: ignore[union-attr]
    assert dan_id

    # Every step's statement is in the LRS with context.team.
    statements = check_statements(store)
    verbs = [s["verb"]["display"]["en-US"] for s in statements]
    for verb in ("created", "joined", "proposed", "commented", "voted-up", "voted-down", "withdrew", "agreed",
                 "planned", "measured", "reflected", "drafted", "submitted", "published", "liked", "completed"):
        assert verb in verbs, verb
    published = next(s for s in statements if s["verb"]["display"]["en-US"] == "published")
    assert len(published["context"]["team"]["member"]) == 3
    assert published["object"]["definition"]["type"] == "https://w3id.org/xapi/masterclass/activities/case-study"
    capstone_done_statements = [s for s in statements if s["object"]["id"].endswith("/capstone")]
    assert len(capstone_done_statements) == 3

    # A facilitator hides the case study: it leaves the gallery, stays in the record, and the team is told why.
    fay = world.person("fay@example.gov.uk", "Fay Facilitator", role="facilitator")
    hidden = post(fay, f"{COURSE}/capstone/teams/{team}/hide", kind="case_study", id=str(case.id),
                  reason="Names a member of the public", stage="share")
    assert hidden.status_code == 303
    assert dan.get(f"{COURSE}/gallery/{case.id}").status_code == 404
    assert "0 case studies" in dan.get(f"{COURSE}/gallery/").text
    assert "Reason: Names a member of the public" in bob.get(share).text
    assert db.case_study(store, team).title == "Pre-filled forms"  # type: ignore[union-attr]


def test_the_capstone_is_needed_to_complete_the_course(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    course = build(world.root).course
    assert course is not None and course.completion_capstone
    client = world.person("ada@example.gov.uk", "Ada Lovelace")
    for lesson in ("lesson", "other"):
        assert client.get(f"{COURSE}/01-intro/{lesson}").status_code == 200
    user = world.store.user_by_email("ada@example.gov.uk")
    assert user is not None
    enrolment = world.store.enrolment(user.id, course.iri)
    assert enrolment is not None
    records = world.store.records(enrolment.id)
    assert course.iri not in records.completions  # every module done, but no capstone yet
    assert not capstone_done(world.store, course, user.id)
    held = progress.evaluate(course, records, capstone_done=False)
    assert not held.completed and all(kind != "course" for kind, _iri, _score in held.new_completions)
    assert progress.evaluate(course, records, capstone_done=True).completed
    home = client.get(f"{COURSE}/").text
    assert "Course completed" not in home and "Team project" in home and "Start or join a team" in home


def test_statuses_on_the_team_page(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    ada = world.person("ada@example.gov.uk", "Ada Lovelace")
    post(ada, f"{COURSE}/capstone/teams", name="Solo", department="Cabinet Office")
    team = team_id(world.store, "Solo")
    post(ada, stage_url(team, "ideas"), action="idea", title="T", problem="P", change="C")
    html = ada.get(f"{COURSE}/capstone/teams/{team}/").text
    # One member with one idea: the ideas stage is complete; the rest not started.
    statuses = re.findall(r'govuk-task-list__status[^>]*>\s*(?:<strong[^>]*>)?\s*([A-Za-z ]+?)\s*<', html)
    assert statuses[0] == "Completed" and statuses[1:] == ["Not started"] * 5
    assert "you need at least 2" in html


def test_my_data_includes_capstone_contributions(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    ada = world.person("ada@example.gov.uk", "Ada Lovelace")
    user = world.store.user_by_email("ada@example.gov.uk")
    assert user is not None
    assert post(ada, f"{COURSE}/capstone/teams", name="Form Fixers", department="Cabinet Office").status_code == 303
    team = team_id(world.store, "Form Fixers")
    assert post(ada, stage_url(team, "ideas"), action="idea", title="Pre-fill the form", problem="Boxes twice.",
                change="Fill in what we know.").status_code == 303
    data = json.loads(ada.get("/my-data/download").text)
    assert [t["name"] for t in data["capstone"]["teams"]] == ["Form Fixers"]
    assert [i["title"] for i in data["capstone"]["ideas"]] == ["Pre-fill the form"]
    assert set(data["capstone"]) == {"teams", "ideas", "comments", "votes", "reflections", "confirmations", "kudos"}


def test_finishing_the_capstone_after_the_modules_completes_the_course(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    ada = world.person("ada@example.gov.uk", "Ada Lovelace")
    for lesson in ("lesson", "other"):
        ada.get(f"{COURSE}/01-intro/{lesson}")
    assert post(ada, f"{COURSE}/capstone/teams", name="Form Fixers", department="Cabinet Office").status_code == 303
    team = team_id(world.store, "Form Fixers")
    user = world.store.user_by_email("ada@example.gov.uk")
    assert user is not None
    assert "Course completed" not in ada.get(f"{COURSE}/").text
    with world.store.transaction():
        db.record_completion(world.store, user.id, "https://learn.example.gov.uk/courses/demo", team)
    ada.get(f"{COURSE}/01-intro/other")  # the next learner event notices the capstone is done
    assert "Course completed" in ada.get(f"{COURSE}/").text
    kinds = [k for (k,) in world.store.conn.execute("SELECT kind FROM completions")]
    assert "course" in kinds
