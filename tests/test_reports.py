"""Reports: the dashboard's figures against a hand-counted fixture, CSV equal to the page, access by role,
and the tallies staying equal to a recount of the records through every kind of change."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.storage import reports as queries
from engine.storage.db import Store
from webhelpers import answer, make_app, register

COURSE_YAML = """\
id: https://learn.example.gov.uk/courses/demo
title: Demo course
language: en-GB
modules: [01-start, 02-end]
"""

START = """\
---
title: Where you are now
duration: 6m
---
::: poll id=confidence-before measure=confidence
I feel equipped to turn my ideas into impact.

scale: 1-5
labels: Strongly disagree | Disagree | Neither | Agree | Strongly agree
:::

::: question id=q-small
What is a small change?

- ( ) A big one
- (x) One your team can try
:::
"""

READ = "---\ntitle: Reading\nduration: 4m\n---\nSome words.\n"

END = """\
---
title: How you feel now
duration: 10m
---
::: poll id=confidence-after measure=confidence
I feel equipped to turn my ideas into impact.

scale: 1-5
labels: Strongly disagree | Disagree | Neither | Agree | Strongly agree
:::

::: question id=q-measure
What do you measure first?

- (x) The baseline
- ( ) Nothing
:::
"""

COURSE_IRI = "https://learn.example.gov.uk/courses/demo"
S1, S2, E1 = "/demo/01-start/where-you-are-now", "/demo/01-start/reading", "/demo/02-end/how-you-feel-now"


def make_demo(root: Path) -> Path:
    for folder, title, lessons in (("01-start", "Starting", {"010-where-you-are-now.md": START, "020-reading.md": READ}),
                                   ("02-end", "Finishing", {"010-how-you-feel-now.md": END})):
        module = root / "modules" / folder
        module.mkdir(parents=True)
        (module / "module.yaml").write_text(f"title: {title}\n", encoding="utf-8")
        for name, text in lessons.items():
            (module / name).write_text(text, encoding="utf-8")
    (root / "course.yaml").write_text(COURSE_YAML, encoding="utf-8")
    return root


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.client, self.store = make_app(make_demo(tmp_path / "demo"), tmp_path / "reports.db")

    def person(self, email: str, department: str, role: str = "learner", name: str | None = None) -> TestClient:
        client = TestClient(self.client.app, follow_redirects=False)
        register(client, email=email, name=name or email.split("@")[0].title(), department=department)
        if role != "learner":
            user = self.store.user_by_email(email)
            assert user is not None
            self.store.set_role(user.id, role)
        return client


def finish(client: TestClient, before: str, after: str, first_right: bool = True) -> None:
    client.get(S1)
    answer(client, S1, "confidence-before", choice=before)
    if not first_right:
        answer(client, S1, "q-small", choice="0")
    answer(client, S1, "q-small", choice="1")
    client.get(S2)
    client.get(E1)
    answer(client, E1, "confidence-after", choice=after)
    answer(client, E1, "q-measure", choice="0")


@pytest.fixture
def world(tmp_path: Path) -> World:
    """Hand-counted: Cabinet Office: Ada completes (wrong first on q-small; confidence 2 -> 4), Bob opens the
    first lesson and answers confidence 4 and q-small wrongly; Cy enrols and opens nothing.
    Home Office: Di completes (3 -> 5, right first). So: enrolled 4, started 3, completed 2; module 01-start
    completed by 2 (Ada, Di), 02-end by 2; q-small first answers 3, wrong 2; confidence before: 2, 4, 3
    (agree 1 of 3), after: 4, 5 (agree 2 of 2). Bob's answers complete his first lesson (its rule is
    `answered`), so learning time is 2 x (6 + 4 + 10) + 6 = 46 minutes, 0.8 hours."""
    w = World(tmp_path)
    ada = w.person("ada@example.gov.uk", "Cabinet Office")
    finish(ada, "2", "4", first_right=False)
    bob = w.person("bob@example.gov.uk", "Cabinet Office")
    bob.get(S1)
    answer(bob, S1, "confidence-before", choice="4")
    answer(bob, S1, "q-small", choice="0")
    cy = w.person("cy@example.gov.uk", "Cabinet Office")
    cy.get("/demo/")
    di = w.person("di@example.gov.uk", "Home Office")
    finish(di, "3", "5")
    return w


def figures(html: str) -> dict[str, str]:
    return {k: re.sub(r"<[^>]+>", "", v).strip() for k, v in re.findall(r'data-figure="([^"]+)">(.*?)</', html)}


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


def test_admin_dashboard_matches_the_hand_count(world: World) -> None:
    admin = world.person("admin@example.gov.uk", "Cabinet Office", role="admin")
    page = admin.get("/reports/demo/")
    assert page.status_code == 200, page.text
    shown = figures(page.text)
    assert shown["enrolled"] == "4" and shown["started"] == "3" and shown["completed"] == "2"
    assert shown["median-days"].startswith("0 days")
    assert shown["learning-hours"].startswith("0.8 hours")
    summary = csv_rows(admin.get("/reports/demo/summary.csv"))
    assert summary[1:4] == [["enrolled", "4", ""], ["started", "3", "75.0"], ["completed", "2", "50.0"]]
    assert summary[5] == ["learning hours", "0.8", ""]
    assert csv_rows(admin.get("/reports/demo/funnel.csv"))[1:] == [["Starting", "2", "50.0"],
                                                                   ["Finishing", "2", "50.0"]]
    assert csv_rows(admin.get("/reports/demo/departments.csv"))[1:] == [
        ["Cabinet Office", "3", "2", "1", "33.3"], ["Home Office", "1", "1", "1", "100.0"]]
    questions = csv_rows(admin.get("/reports/demo/questions.csv"))
    assert questions[1] == ["q-small", "Where you are now", "Starting", "3", "2", "66.7"]
    assert questions[2] == ["q-measure", "How you feel now", "Finishing", "2", "0", "0.0"]
    measures = csv_rows(admin.get("/reports/demo/measures.csv"))
    before = {row[3]: row[4] for row in measures if row[1] == "All" and row[2] == "before"}
    after = {row[3]: row[4] for row in measures if row[1] == "All" and row[2] == "after"}
    assert before == {"1: Strongly disagree": "0", "2: Disagree": "1", "3: Neither": "1", "4: Agree": "1",
                      "5: Strongly agree": "0"}
    assert after == {"1: Strongly disagree": "0", "2: Disagree": "0", "3: Neither": "0", "4: Agree": "1",
                     "5: Strongly agree": "1"}
    # Agree before: 1 of 3 (33%); after: 2 of 2 (100%); the default baseline (42.6%) is shown to beat.
    assert "33%</strong> of 3" in page.text and "100%</strong> of 2" in page.text
    assert "+66.7 percentage points" in page.text and "42.6%" in page.text
    # Every chart is an SVG with a title and a description, next to its table.
    assert page.text.count('<svg class="mc-bars"') == 2 and page.text.count("<desc id=") == 2


def test_facilitator_sees_only_their_department(world: World) -> None:
    home = world.person("fay@example.gov.uk", "Home Office", role="facilitator")
    shown = figures(home.get("/reports/demo/").text)
    assert (shown["enrolled"], shown["started"], shown["completed"]) == ("1", "1", "1")
    assert csv_rows(home.get("/reports/demo/departments.csv"))[1:] == [["Home Office", "1", "1", "1", "100.0"]]
    assert home.get("/reports/demo/?department=Cabinet+Office").status_code == 403
    assert home.get("/reports/demo/summary.csv?department=Cabinet+Office").status_code == 403
    learners = home.get("/reports/demo/learners")
    assert "di@example.gov.uk" in learners.text and "ada@example.gov.uk" not in learners.text
    exported = csv_rows(home.get("/reports/demo/learners.csv"))
    assert [row[2] for row in exported[1:]] == ["di@example.gov.uk"]
    ada = world.store.user_by_email("ada@example.gov.uk")
    assert ada is not None
    assert home.get(f"/reports/demo/learners/{ada.public_id}").status_code == 404


def test_admin_filters_by_department(world: World) -> None:
    admin = world.person("admin@example.gov.uk", "Cabinet Office", role="admin")
    shown = figures(admin.get("/reports/demo/?department=Cabinet+Office").text)
    assert (shown["enrolled"], shown["started"], shown["completed"]) == ("3", "2", "1")


def test_learners_and_anonymous_get_no_reports(world: World) -> None:
    learner = world.person("eve@example.gov.uk", "Cabinet Office")
    anonymous = TestClient(world.client.app, follow_redirects=False)
    paths = ["/reports/", "/reports/demo/", "/reports/demo/summary.csv", "/reports/demo/learners",
             "/reports/demo/learners.csv"]
    for path in paths:
        assert learner.get(path).status_code == 403, path
        response = anonymous.get(path)
        assert response.status_code in (302, 303) and "/sign-in" in response.headers["location"], path


def test_learner_list_search_status_and_csv(world: World) -> None:
    admin = world.person("admin@example.gov.uk", "Cabinet Office", role="admin")
    assert "bob@example.gov.uk" in admin.get("/reports/demo/learners?search=bob").text
    assert "ada@example.gov.uk" not in admin.get("/reports/demo/learners?search=bob").text
    done = admin.get("/reports/demo/learners?status=completed").text
    assert "ada@example.gov.uk" in done and "di@example.gov.uk" in done and "bob@example.gov.uk" not in done
    assert "cy@example.gov.uk" in admin.get("/reports/demo/learners?status=not_started").text
    assert "bob@example.gov.uk" in admin.get("/reports/demo/learners?status=in_progress").text
    rows = csv_rows(admin.get("/reports/demo/learners.csv"))
    by_email = {row[2]: row for row in rows[1:]}
    assert set(by_email) == {"ada@example.gov.uk", "bob@example.gov.uk", "cy@example.gov.uk", "di@example.gov.uk",
                             "admin@example.gov.uk"} - {"admin@example.gov.uk"}
    assert by_email["ada@example.gov.uk"][6:8] == ["3", "100.0"] and by_email["ada@example.gov.uk"][8]
    assert by_email["bob@example.gov.uk"][6:9] == ["1", "33.3", ""]


def test_learner_text_is_escaped_and_csv_formulas_neutralised(world: World) -> None:
    world.person("mal@example.gov.uk", "Cabinet Office", name="=HYPERLINK(\"x\")<script>x</script>").get("/demo/")
    admin = world.person("admin@example.gov.uk", "Cabinet Office", role="admin")
    html = admin.get("/reports/demo/learners").text
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html
    rows = csv_rows(admin.get("/reports/demo/learners.csv?search=mal"))
    assert rows[1][1].startswith("'=HYPERLINK")


def test_bad_dates_get_an_error_summary(world: World) -> None:
    admin = world.person("admin@example.gov.uk", "Cabinet Office", role="admin")
    page = admin.get("/reports/demo/?from-day=31&from-month=2&from-year=2026")
    assert page.status_code == 400
    assert "govuk-error-summary" in page.text and "The start date must be a real date" in page.text
    assert 'href="#from-day"' in page.text
    page = admin.get("/reports/demo/?from-day=1&from-month=&from-year=2026")
    assert "The start date must include a month" in page.text
    page = admin.get("/reports/demo/?from-day=2&from-month=1&from-year=2026&to-day=1&to-month=1&to-year=2026")
    assert "The end date must be the same as or after the start date" in page.text
    assert admin.get("/reports/demo/summary.csv?from-day=40&from-month=1&from-year=2026").status_code == 400
    assert admin.get("/reports/demo/nonsense.csv").status_code == 404


def test_date_range_counts_learners_by_the_day_they_enrolled(world: World) -> None:
    admin = world.person("admin@example.gov.uk", "Cabinet Office", role="admin")
    day = world.store.conn.execute("SELECT substr(created_at, 1, 10) FROM enrolments WHERE id = 1").fetchone()[0]
    y, m, d = day.split("-")
    shown = figures(admin.get(f"/reports/demo/?from-day={d}&from-month={m}&from-year={y}"
                              f"&to-day={d}&to-month={m}&to-year={y}").text)
    assert shown["enrolled"] == "4"
    shown = figures(admin.get("/reports/demo/?to-day=1&to-month=1&to-year=2000").text)
    assert shown["enrolled"] == "0"


def recount(store: Store) -> dict[tuple[str, ...], int]:
    """Every non-zero tally, per day and in total."""
    rows = store.conn.execute("SELECT course_iri, department, period, key, n FROM report_days WHERE n != 0"
                              " UNION ALL SELECT course_iri, department, '', key, n FROM report_totals WHERE n != 0")
    return {tuple(r[:4]): r[4] for r in rows}


def test_tallies_equal_a_recount_after_changes_and_deletions(world: World) -> None:
    store = world.store
    # A changed poll answer moves its tally; a deleted account takes its counts away.
    bob = TestClient(world.client.app, follow_redirects=False)
    from webhelpers import PASSWORD, csrf
    bob.post("/sign-in", data={"csrf_token": csrf(bob), "email": "bob@example.gov.uk", "password": PASSWORD})
    answer(bob, S1, "confidence-before", choice="5")
    live = recount(store)
    months = dict(((r[0], r[1], r[2], r[3]), r[4]) for r in store.conn.execute(
        "SELECT course_iri, department, period, key, n FROM report_months WHERE n != 0"))
    queries.rebuild(store)
    assert recount(store) == live
    assert dict(((r[0], r[1], r[2], r[3]), r[4]) for r in store.conn.execute(
        "SELECT course_iri, department, period, key, n FROM report_months WHERE n != 0")) == months
    ada = store.user_by_email("ada@example.gov.uk")
    assert ada is not None
    store.delete_user(ada.id)
    live = recount(store)
    queries.rebuild(store)
    assert recount(store) == live
    total = queries.tallies(store, "https://learn.example.gov.uk/courses/demo")
    assert sum(keys.get("enrolled", 0) for keys in total.values()) == 3


def test_period_spans() -> None:
    from datetime import date

    from engine.storage.reports import Period, _spans
    assert _spans(Period()) == ([("0000-00", "9999-99")], [])
    assert _spans(Period(date(2026, 1, 1), date(2026, 3, 31))) == ([("2026-01", "2026-03")], [])
    assert _spans(Period(date(2026, 1, 15), date(2026, 3, 10))) == (
        [("2026-02", "2026-02")], [("2026-01-15", "2026-01-31"), ("2026-03-01", "2026-03-10")])
    assert _spans(Period(date(2026, 1, 15), date(2026, 1, 20))) == ([], [("2026-01-15", "2026-01-20")])
    assert _spans(Period(date(2026, 2, 1), None))[0] == [("2026-02", "9999-12")]
    assert _spans(Period(date(2026, 2, 2), date(2026, 2, 1))) == ([], [])


def test_cli_rebuild_recounts(world: World, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from engine.cli import cli
    live = recount(world.store)
    world.store.conn.execute("DELETE FROM report_days")
    result = CliRunner().invoke(cli, ["reports", "rebuild", "--db", str(tmp_path / "reports.db")])
    assert result.exit_code == 0, result.output
    assert "Counted the report tallies again" in result.output
    assert recount(world.store) == live


def test_drill_down_shows_the_learners_own_progress(world: World) -> None:
    admin = world.person("admin@example.gov.uk", "Cabinet Office", role="admin")
    ada = world.store.user_by_email("ada@example.gov.uk")
    assert ada is not None
    page = admin.get(f"/reports/demo/learners/{ada.public_id}")
    assert page.status_code == 200, page.text
    assert "<h1 class=\"govuk-heading-l\">Ada</h1>" in page.text and "What to do next" in page.text
    assert "They have completed the course" in page.text, page.text
    # Looking at a learner enrols no one and records nothing.
    admin_user = world.store.user_by_email("admin@example.gov.uk")
    assert admin_user is not None and world.store.enrolment(admin_user.id, COURSE_IRI) is None
    assert admin.get("/reports/demo/learners/no-such-learner").status_code == 404


def test_published_case_studies_count_until_hidden(world: World) -> None:
    store = world.store
    conn = store.conn
    conn.execute("INSERT INTO capstone_teams (id, course_iri, name, department, join_code, created_at)"
                 " VALUES (1, ?, 'A', 'Home Office', 'J1', '2026-03-01T10:00:00+00:00')", (COURSE_IRI,))
    conn.execute("INSERT INTO capstone_case_studies (team_id, title, problem, change, results, lessons, recommend,"
                 " outcome, updated_at) VALUES (1, 'T', 'P', 'C', 'R', 'L', 'Y', 'worked', '2026-03-02')")

    def published() -> dict[str, int]:
        keys = queries.tallies(store, COURSE_IRI).get("Home Office", {})
        return {k: n for k, n in keys.items() if k.startswith("published:")}

    assert published() == {}  # a draft does not count
    conn.execute("UPDATE capstone_case_studies SET status = 'published', published_at = '2026-03-03'")
    assert published() == {"published:worked": 1}
    conn.execute("UPDATE capstone_case_studies SET outcome = 'partly'")
    assert published() == {"published:partly": 1}
    conn.execute("UPDATE capstone_case_studies SET hidden_at = '2026-03-04', hidden_reason = 'x'")
    assert published() == {}
    conn.execute("UPDATE capstone_case_studies SET hidden_at = NULL, hidden_reason = NULL")
    live = recount(store)
    queries.rebuild(store)
    assert recount(store) == live and published() == {"published:partly": 1}
    admin = world.person("admin@example.gov.uk", "Cabinet Office", role="admin")
    assert csv_rows(admin.get("/reports/demo/outcomes.csv"))[1:] == [
        ["It worked", "0", "0.0"], ["It partly worked", "1", "100.0"], ["It did not work", "0", "0.0"]]


REPORT_ROUTES = ["/reports/", "/reports/demo/", "/reports/demo/learners", "/reports/demo/learners.csv",
                 "/reports/demo/learners/{ada}"] + [f"/reports/demo/{table}.csv" for table in (
                     "summary", "departments", "funnel", "questions", "stages", "outcomes", "measures")]


def test_every_report_route_refuses_learners_and_other_departments(world: World) -> None:
    ada = world.store.user_by_email("ada@example.gov.uk")
    assert ada is not None
    routes = [r.format(ada=ada.public_id) for r in REPORT_ROUTES]
    learner = world.person("eve@example.gov.uk", "Cabinet Office")
    anonymous = TestClient(world.client.app, follow_redirects=False)
    home = world.person("fay@example.gov.uk", "Home Office", role="facilitator")
    cabinet = world.person("cat@example.gov.uk", "Cabinet Office", role="facilitator")
    admin = world.person("admin@example.gov.uk", "Home Office", role="admin")
    for path in routes:
        assert learner.get(path).status_code == 403, path
        refused = anonymous.get(path)
        assert refused.status_code in (302, 303) and "/sign-in" in refused.headers["location"], path
        assert admin.get(path).status_code in (200, 302), path
        assert cabinet.get(path).status_code in (200, 302), path
        asked = path + ("&" if "?" in path else "?") + "department=Cabinet+Office"
        if not path.endswith("/reports/"):
            assert home.get(asked).status_code == 403, asked
    # Ada is in the Cabinet Office: a Home Office facilitator cannot find her.
    assert home.get(f"/reports/demo/learners/{ada.public_id}").status_code == 404
