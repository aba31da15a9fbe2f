"""The learner's "My progress" and the team progress page: figures checked against hand-counted fixtures, on a real
SQLite file through the real routes, and who may see what.

The fixture course has two modules and four lessons:

| module | lesson | duration | questions |
| --- | --- | --- | --- |
| 01-intro (complete when all lessons are) | welcome | 10 minutes | none |
| | quiz | 20 minutes | q1, q2 |
| 02-practice (complete when passed, 80%) | try | 1 hour 5 minutes | q3 |
| | wrap | none | none |

Ada opens welcome; answers q1 wrong then right, and q2 wrong; answers q3 right; never opens wrap. By hand:
lessons completed 3 of 4 (75%), modules completed 1 of 2 (01-intro: every lesson done, question score
(1 + 0) / 2 = 50%, not passed; 02-practice: in progress, 100%, passed), learning time 10 + 20 + 65 = 95 minutes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from test_capstone_support import CAPSTONE_YAML, World, post, team_id

from course import Course, build
from engine.reports.learner import (
    LearnerReport,
    attempts_text,
    duration_text,
    govuk_date,
    learner_report,
    team_report,
)
from engine.storage import capstone as capstone_db
from engine.storage.db import Store
from engine.storage.records import User
from engine.web.templating import render
from webhelpers import make_app

COURSE = "/demo"
IRI = "https://learn.example.gov.uk/courses/demo"

QUESTION = """
::: question id={id}
{prompt}

- ( ) Wrong
- (x) Right
:::
"""
LESSONS = {
    "01-intro/010-welcome.md": "---\ntitle: Welcome\nduration: 10m\n---\nHello.\n",
    "01-intro/020-quiz.md": "---\ntitle: The quiz\nduration: 20m\n---\n"
                            + QUESTION.format(id="q1", prompt="Which is *right*?")
                            + QUESTION.format(id="q2", prompt="And which is right here?"),
    "02-practice/010-try.md": "---\ntitle: Try it\nduration: 1h 5m\n---\n" + QUESTION.format(id="q3", prompt="Pick one."),
    "02-practice/020-wrap.md": "---\ntitle: Wrapping up\n---\nThat is all.\n",
}
MODULES = {"01-intro": "title: Introduction\n",
           "02-practice": "title: Practice\ncomplete_when: passed\nmastery_score: 0.8\n"}


def course_yaml(capstone_required: bool) -> str:
    return (CAPSTONE_YAML.replace("modules: [01-intro]", "modules: [01-intro, 02-practice]")
            .replace("capstone: true}", f"capstone: {str(capstone_required).lower()}}}"))


@dataclass
class Site:
    world: World
    course: Course

    @property
    def store(self) -> Store:
        return self.world.store

    def person(self, email: str, name: str, department: str = "Cabinet Office", role: str = "learner"
               ) -> TestClient:
        return self.world.person(email, name, department=department, role=role)

    def user(self, email: str) -> User:
        found = self.store.user_by_email(email)
        assert found is not None
        return found

    def report(self, email: str) -> LearnerReport:
        return learner_report(self.store, self.course, self.user(email))


def make_site(tmp_path: Path, *, capstone_required: bool = True) -> Site:
    root = tmp_path / "demo"
    for path, text in LESSONS.items():
        (root / "modules" / path).parent.mkdir(parents=True, exist_ok=True)
        (root / "modules" / path).write_text(text, encoding="utf-8")
    for module, text in MODULES.items():
        (root / "modules" / module / "module.yaml").write_text(text, encoding="utf-8")
    (root / "course.yaml").write_text(course_yaml(capstone_required), encoding="utf-8")
    result = build(root)
    assert result.ok and result.course, [d.format() for d in result.diagnostics]
    client, store = make_app(root, tmp_path / "progress.db")
    return Site(World(root, store, client), result.course)


def answer(client: TestClient, lesson: str, block: str, choice: str) -> None:
    assert post(client, f"{COURSE}/{lesson}/blocks/{block}", choice=choice).status_code == 303


def set_time(store: Store, table: str, column: str, iri_column: str, iri: str, stamp: str) -> None:
    """Pin a recorded timestamp to a hand-picked moment, so the dates on the page can be checked exactly.

    On a connection of its own, as another process would: the store keeps records it has read or written, and
    sees other connections' commits, not writes behind its back on its own connection.
    """
    other = sqlite3.connect(store.path, isolation_level=None)
    try:
        changed = other.execute(f"UPDATE {table} SET {column} = ? WHERE {iri_column} = ?", (stamp, iri)).rowcount
    finally:
        other.close()
    assert changed == 1, (table, iri)


def ada_learns(site: Site) -> TestClient:
    """Ada's known history (see the module docstring), with pinned dates."""
    ada = site.person("ada@example.gov.uk", "Ada <script>alert(1)</script> Lovelace")
    assert ada.get(f"{COURSE}/01-intro/welcome").status_code == 200
    assert ada.get(f"{COURSE}/01-intro/quiz").status_code == 200
    answer(ada, "01-intro/quiz", "q1", "0")  # wrong
    answer(ada, "01-intro/quiz", "q1", "1")  # right, on the 2nd attempt
    answer(ada, "01-intro/quiz", "q2", "0")  # wrong, and left there
    assert ada.get(f"{COURSE}/02-practice/try").status_code == 200
    answer(ada, "02-practice/try", "q3", "1")  # right first time
    store = site.store
    for lesson, first in (("01-intro/welcome", "2026-03-02T09:00:00.000+00:00"),
                          ("01-intro/quiz", "2026-03-02T09:15:00.000+00:00"),
                          ("02-practice/try", "2026-06-10T10:00:00.000+00:00")):
        set_time(store, "lesson_views", "first_at", "lesson_iri", f"{IRI}/{lesson}", first)
    # 23:30 UTC on 3 June is 00:30 on 4 June in London (BST): the page gives the UK date.
    for obj, done in (("01-intro/welcome", "2026-03-02T09:10:00.000+00:00"),
                      ("01-intro/quiz", "2026-06-03T23:30:00.000+00:00"),
                      ("01-intro", "2026-06-03T23:30:00.000+00:00"),
                      ("02-practice/try", "2026-06-10T10:30:00.000+00:00")):
        set_time(store, "completions", "completed_at", "object_iri", f"{IRI}/{obj}", done)
    return ada


def complete_every_lesson(site: Site, client: TestClient) -> None:
    client.get(f"{COURSE}/01-intro/welcome")
    answer(client, "01-intro/quiz", "q1", "1")
    answer(client, "01-intro/quiz", "q2", "1")
    answer(client, "02-practice/try", "q3", "1")
    client.get(f"{COURSE}/02-practice/wrap")


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path)


# --- the words and dates ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("attempts", "right_on", "correct", "text"), [
    (0, None, False, "Not answered"),
    (1, 1, True, "1 attempt, right first time"),
    (1, None, False, "1 attempt, not right yet"),
    (2, 2, True, "2 attempts, right on the 2nd"),
    (3, 3, True, "3 attempts, right on the 3rd"),
    (11, 11, True, "11 attempts, right on the 11th"),
    (22, 22, True, "22 attempts, right on the 22nd"),
    (3, 1, False, "3 attempts, first right on the 1st, not right on the latest"),
    (3, 2, True, "3 attempts, first right on the 2nd, right on the latest"),
])
def test_attempts_in_words(attempts: int, right_on: int | None, correct: bool, text: str) -> None:
    assert attempts_text(attempts, right_on, correct) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 minutes"), (60, "1 minute"), (600, "10 minutes"), (3600, "1 hour"), (3660, "1 hour 1 minute"),
    (5700, "1 hour 35 minutes"), (7200, "2 hours"), (89, "1 minute"),
])
def test_durations_in_words(seconds: int, text: str) -> None:
    assert duration_text(seconds) == text


def test_dates_are_govuk_style_on_the_uk_calendar() -> None:
    assert govuk_date("2026-03-02T09:00:00.000+00:00") == "2 March 2026"
    assert govuk_date("2026-06-03T23:30:00.000+00:00") == "4 June 2026"  # BST
    assert govuk_date("2026-12-31T23:30:00.000+00:00") == "31 December 2026"  # GMT
    assert govuk_date(None) == "" and govuk_date("") == ""


# --- one learner's report -----------------------------------------------------------------------------------

def test_the_report_matches_the_hand_count(site: Site) -> None:
    ada_learns(site)
    report = site.report("ada@example.gov.uk")
    assert (report.lessons_completed, report.lessons_total, report.percent) == (3, 4, 75)
    assert (report.modules_completed, report.modules_total) == (1, 2)
    assert report.learning_seconds == 95 * 60 and report.learning_time_text == "1 hour 35 minutes"
    assert report.status == "in_progress" and not report.completed and report.completed_at is None
    assert report.first_opened_date == "2 March 2026" and report.completed_date == ""

    intro, practice = report.modules
    assert (intro.status, intro.score_percent, intro.result, intro.mastery_percent) == ("completed", 50, "not_passed",
                                                                                        80)
    assert (intro.first_opened_date, intro.completed_date, intro.learning_seconds) == ("2 March 2026", "4 June 2026",
                                                                                       30 * 60)
    assert (practice.status, practice.score_percent, practice.result) == ("in_progress", 100, "passed")
    assert (practice.completed_date, practice.learning_seconds, practice.lessons_completed) == ("", 65 * 60, 1)

    welcome, quiz, attempt, wrap = [lr for m in report.modules for lr in m.lessons]
    assert (welcome.status, welcome.score, welcome.result, welcome.questions) == ("completed", None, None, [])
    assert (welcome.first_opened_date, welcome.completed_date) == ("2 March 2026", "2 March 2026")
    assert (quiz.status, quiz.score_percent, quiz.result) == ("completed", 50, "not_passed")
    assert (quiz.first_opened_date, quiz.completed_date) == ("2 March 2026", "4 June 2026")
    assert [(q.text, q.attempts, q.right_on, q.attempts_text) for q in quiz.questions] == [
        ("Which is right?", 2, 2, "2 attempts, right on the 2nd"),
        ("And which is right here?", 1, None, "1 attempt, not right yet")]
    assert (attempt.status, attempt.score_percent, attempt.result) == ("completed", 100, "passed")
    assert [q.attempts_text for q in attempt.questions] == ["1 attempt, right first time"]
    assert (attempt.first_opened_date, attempt.completed_date) == ("10 June 2026", "10 June 2026")
    assert (wrap.status, wrap.first_opened, wrap.completed_at, wrap.learning_seconds) == ("not_started", None,
                                                                                          None, 0)

    step = report.next_step
    assert (step.kind, step.title, step.url, step.module_title) == ("lesson", "Wrapping up",
                                                                    "/demo/02-practice/wrap", "Practice")
    assert report.capstone is not None and report.capstone.team is None and report.capstone.status == "not_started"


def test_my_progress_page_shows_the_hand_count(site: Site) -> None:
    ada = ada_learns(site)
    html = ada.get(f"{COURSE}/progress").text
    for text in ("Your progress", "3 of 4 (75%)", "1 hour 35 minutes", "Estimated from how long each completed lesson",
                 "Opened 2 March 2026</span><span class=\"mc-secondary-text\">Completed 4 June 2026",
                 "Opened 10 June 2026", "Completed 10 June 2026", "50% (not passed); the pass mark is 80%",
                 "100% (passed); the pass mark is 80%", "2 attempts, right on the 2nd", "1 attempt, not right yet",
                 "1 attempt, right first time", "Your next lesson:", 'href="/demo/02-practice/wrap"',
                 "<caption class=\"govuk-table__caption govuk-table__caption--s\" id=\"module-1-lessons\">Lessons in "
                 "Introduction</caption>", "Start or join a team"):
        assert text in html, text
    # Question prompts are shown as plain text, never as the course's HTML.
    assert "Which is right?" in html and "<em>right</em>" not in html
    # The course home links to it.
    assert 'href="/demo/progress"' in ada.get(f"{COURSE}/").text


def test_looking_records_nothing(site: Site) -> None:
    newcomer = site.person("new@example.gov.uk", "New Learner")
    before = site.store.conn.execute("SELECT (SELECT COUNT(*) FROM enrolments), (SELECT COUNT(*) FROM statements)"
                                     ).fetchone()
    html = newcomer.get(f"{COURSE}/progress").text
    assert "0 of 4 (0%)" in html and "Not yet started" in html and 'href="/demo/01-intro/welcome"' in html
    after = site.store.conn.execute("SELECT (SELECT COUNT(*) FROM enrolments), (SELECT COUNT(*) FROM statements)"
                                    ).fetchone()
    assert before == after


def test_next_step_after_the_lessons_is_the_team_project(site: Site) -> None:
    cat = site.person("cat@example.gov.uk", "Cat Hopper")
    complete_every_lesson(site, cat)
    report = site.report("cat@example.gov.uk")
    assert report.modules_completed == 2 and not report.completed  # the course needs the capstone too
    assert (report.next_step.kind, report.next_step.url) == ("join_team", "/demo/capstone/")
    assert "Start or join a team" in cat.get(f"{COURSE}/progress").text
    post(cat, f"{COURSE}/capstone/teams", name="Cats", department="Cabinet Office")
    team = team_id(site.store, "Cats")
    step = site.report("cat@example.gov.uk").next_step
    assert (step.kind, step.title, step.url) == ("stage", "Share ideas", f"/demo/capstone/teams/{team}/ideas")
    html = cat.get(f"{COURSE}/progress").text
    assert "Your team's next stage of the team project" in html and f'href="/demo/capstone/teams/{team}/ideas"' in html


def test_next_step_when_a_module_is_short_of_its_pass_mark(site: Site) -> None:
    dan = site.person("dan@example.gov.uk", "Dan")
    dan.get(f"{COURSE}/02-practice/try")
    answer(dan, "02-practice/try", "q3", "0")  # answered, so the lesson is complete, but wrong
    dan.get(f"{COURSE}/02-practice/wrap")
    dan.get(f"{COURSE}/01-intro/welcome")
    answer(dan, "01-intro/quiz", "q1", "1")
    answer(dan, "01-intro/quiz", "q2", "1")
    report = site.report("dan@example.gov.uk")
    assert report.lessons_completed == 4 and report.modules_completed == 1
    step = report.next_step
    assert (step.kind, step.title, step.url, step.module_title, step.mastery_percent) == (
        "improve", "Try it", "/demo/02-practice/try", "Practice", 80)
    html = " ".join(dan.get(f"{COURSE}/progress").text.split())
    assert "the module needs a question score of 80% to pass" in html and 'href="/demo/02-practice/try">Try it</a>' in html


def test_a_completed_course(tmp_path: Path) -> None:
    site = make_site(tmp_path, capstone_required=False)
    cat = site.person("cat@example.gov.uk", "Cat Hopper")
    complete_every_lesson(site, cat)
    report = site.report("cat@example.gov.uk")
    assert report.completed and report.status == "completed" and report.next_step.kind == "completed"
    assert report.learning_seconds == 95 * 60  # wrap has no duration: it adds nothing
    assert report.completed_date == govuk_date(site.store.conn.execute(
        "SELECT completed_at FROM completions WHERE object_iri = ?", (IRI,)).fetchone()[0])
    assert "You have completed the course." in cat.get(f"{COURSE}/progress").text


def test_the_partial_words_it_for_someone_else_and_links_nowhere_learners_pages(site: Site) -> None:
    """The facilitators' drill-down renders the same partial with viewer_is_learner false."""
    ada = ada_learns(site)
    post(ada, f"{COURSE}/capstone/teams", name="<b>Alpha</b>", department="Cabinet Office")
    report = site.report("ada@example.gov.uk")
    html = render("reports/_learner_progress.html", {"report": report, "viewer_is_learner": False})
    assert "Their next lesson:" in html and "Wrapping up" in html
    assert 'href="/demo/' not in html  # opening a lesson would enrol the viewer
    assert "&lt;b&gt;Alpha&lt;/b&gt;" in html and "<b>Alpha</b>" not in html
    for phrase in ("You have", "You can", "Your next", "your team", "Start or join"):
        assert phrase not in html, phrase
    mine = render("reports/_learner_progress.html", {"report": report, "viewer_is_learner": True})
    assert "Your next lesson:" in mine and 'href="/demo/02-practice/wrap"' in mine


# --- the team -----------------------------------------------------------------------------------------------

@dataclass
class Team:
    id: int
    ada: TestClient
    bob: TestClient
    cat: TestClient


def team_of_three(site: Site) -> Team:
    """Ada (as above), Bob (nothing yet) and Cat (every lesson) in team "<b>Alpha</b>"; Ada posted an idea."""
    ada = ada_learns(site)
    bob = site.person("bob@example.gov.uk", "Bob <i>Babbage</i>")
    cat = site.person("cat@example.gov.uk", "Cat Hopper")
    complete_every_lesson(site, cat)
    post(ada, f"{COURSE}/capstone/teams", name="<b>Alpha</b>", department="Cabinet Office")
    team = team_id(site.store, "<b>Alpha</b>")
    code = capstone_db.team(site.store, team).join_code  # type: ignore[union-attr]
    post(bob, f"{COURSE}/capstone/join", code=code)
    post(cat, f"{COURSE}/capstone/join", code=code)
    post(ada, f"{COURSE}/capstone/teams/{team}/ideas", action="idea", title="Idea", problem="P", change="C")
    return Team(team, ada, bob, cat)


def test_team_figures_match_the_hand_count(tmp_path: Path) -> None:
    site = make_site(tmp_path, capstone_required=False)
    team = team_of_three(site)
    found = capstone_db.team(site.store, team.id)
    assert found is not None
    report = team_report(site.store, site.course, found)
    assert [(m.user.email, m.lessons_completed, m.lessons_total, m.percent, m.modules_completed, m.modules_total,
             m.completed) for m in report.members] == [
        ("ada@example.gov.uk", 3, 4, 75, 1, 2, False),
        ("bob@example.gov.uk", 0, 4, 0, 0, 2, False),
        ("cat@example.gov.uk", 4, 4, 100, 2, 2, True)]
    assert report.members_completed == 1 and report.stages_completed == 0
    assert [(s.stage.id, s.status, s.detail) for s in report.stages] == [
        ("ideas", "in_progress", "1 of 3 members have posted 1 or more"), ("agree", "not_started", ""),
        ("plan", "not_started", ""), ("measure", "not_started", "0 of 2 measurements recorded"),
        ("reflect", "not_started", "0 of 3 members have reflected"), ("share", "not_started", "")]
    # The same numbers each member's own progress page gives.
    for member in report.members:
        own = site.report(member.user.email)
        assert (own.percent, own.modules_completed, own.completed) == (member.percent, member.modules_completed,
                                                                       member.completed)

    html = team.bob.get(f"{COURSE}/capstone/teams/{team.id}/progress").text
    for text in ("Team progress", "1 of 3 members have completed Demo course.",
                 "The team has completed 0 of 6 stages", "3 of 4 lessons (75%)", "1 of 2 modules",
                 "0 of 4 lessons (0%)", "0 of 2 modules", "4 of 4 lessons (100%)", "2 of 2 modules",
                 "Bob &lt;i&gt;Babbage&lt;/i&gt; (you)", "&lt;b&gt;Alpha&lt;/b&gt;",
                 "1 of 3 members have posted 1 or more", 'aria-current="page">Team progress'):
        assert text in html, text
    assert "<i>Babbage</i>" not in html and "<b>Alpha</b>" not in html and "<script>alert" not in html
    assert html.count(">Yes</td>") == 1 and html.count(">No</td>") == 2
    # The team page and its stage pages link to it.
    for page in ("/", "/ideas"):
        assert f'href="/demo/capstone/teams/{team.id}/progress"' in team.ada.get(
            f"{COURSE}/capstone/teams/{team.id}{page}").text


def test_team_progress_access_route_by_route(site: Site) -> None:
    team = team_of_three(site)
    path = f"{COURSE}/capstone/teams/{team.id}/progress"
    eve = site.person("eve@example.gov.uk", "Eve Outsider")
    post(eve, f"{COURSE}/capstone/teams", name="Other team", department="Cabinet Office")
    loner = site.person("lon@example.gov.uk", "Lone Learner")
    fay = site.person("fay@example.gov.uk", "Fay Facilitator", role="facilitator")
    gus = site.person("gus@example.gov.uk", "Gus Facilitator", department="Home Office", role="facilitator")
    ann = site.person("ann@example.gov.uk", "Ann Admin", department="Home Office", role="admin")
    visitor = TestClient(site.world.base.app, follow_redirects=False)

    response = visitor.get(path)
    assert response.status_code == 303 and response.headers["location"] == f"/sign-in?next={path}"
    for member in (team.ada, team.bob, team.cat):
        assert member.get(path).status_code == 200
    for name, client in (("another team's member", eve), ("a learner in no team", loner),
                         ("a facilitator of another department", gus)):
        refused = client.get(path)
        assert refused.status_code == 403, name
        assert "Alpha" not in refused.text and "Babbage" not in refused.text and "75%" not in refused.text, name
    assert fay.get(path).status_code == 200
    assert ann.get(path).status_code == 200
    # Another team's progress is not Ada's to see either.
    other = team_id(site.store, "Other team")
    assert team.ada.get(f"{COURSE}/capstone/teams/{other}/progress").status_code == 403
    # A former member loses access with the team's other pages.
    assert post(team.bob, f"{COURSE}/capstone/teams/{team.id}/leave").status_code == 303
    assert team.bob.get(path).status_code == 403
    # Unknown teams and courses.
    for unknown in (f"{COURSE}/capstone/teams/999/progress", f"{COURSE}/capstone/teams/abc/progress",
                    "/nocourse/capstone/teams/1/progress"):
        assert team.ada.get(unknown).status_code == 404, unknown


def test_my_progress_access(site: Site) -> None:
    team = team_of_three(site)
    visitor = TestClient(site.world.base.app, follow_redirects=False)
    response = visitor.get(f"{COURSE}/progress")
    assert response.status_code == 303 and response.headers["location"] == "/sign-in?next=/demo/progress"
    assert TestClient(site.world.base.app).get("/nocourse/progress").status_code in (303, 404)
    assert team.ada.get("/nocourse/progress").status_code == 404
    # Each learner sees only their own records: there is no way to ask for anyone else's.
    bob = team.bob.get(f"{COURSE}/progress?user=1&learner=ada@example.gov.uk").text
    assert "0 of 4 (0%)" in bob and "2 attempts, right on the 2nd" not in bob and "Lovelace" not in bob
    ada = team.ada.get(f"{COURSE}/progress").text
    assert "2 attempts, right on the 2nd" in ada
    # Learner text is escaped wherever it appears.
    assert "&lt;b&gt;Alpha&lt;/b&gt;" in ada and "<b>Alpha</b>" not in ada
    assert "<script>alert(1)</script>" not in ada


def test_a_course_without_a_capstone_has_no_team_section(tmp_path: Path) -> None:
    from helpers import make_course

    root = make_course(tmp_path / "plain")
    client, store = make_app(root, tmp_path / "plain.db")
    person = World(root, store, client).person("p@example.gov.uk", "P")
    html = person.get("/plain/progress")
    assert html.status_code == 200 and "Team project" not in html.text
    assert person.get("/plain/capstone/teams/1/progress").status_code == 404


def test_prompts_become_plain_text() -> None:
    from engine.reports.learner import plain_text

    assert plain_text("<p>Which is <em>right</em>?</p>") == "Which is right?"
    assert plain_text("<p>One</p>\n<p>Two &amp; <a href='x'>three</a></p>") == "One Two & three"
    assert plain_text("<p>A<br>B</p>") == "A B"
