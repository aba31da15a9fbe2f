"""Reports in Chromium, with JavaScript on and off: a facilitator signs in with the form, follows "Reports" to her
department's dashboard, whose figures equal a count of the server's database, filters by date and fixes a wrong
date from the error summary, finds a learner, and downloads the learners' CSV, which lists exactly her department's
learners.
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from .browserkit import SLUG, PointerDriver
from .capstonekit import CapstoneWorld
from .test_browser_journeys import follow_error_summary

pytestmark = pytest.mark.browser


def department_counts(db: Path, department: str) -> tuple[int, int, set[str], int]:
    """(enrolled, completed the course, emails, teams) for one department, counted straight from the records
    (other tests share the server, so the counts are whatever they have made by now)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT u.email, EXISTS (SELECT 1 FROM completions c WHERE c.enrolment_id = e.id AND c.kind = 'course')"
            " FROM enrolments e JOIN users u ON u.id = e.user_id WHERE u.department = ?", (department,)).fetchall()
        teams = conn.execute("SELECT COUNT(*) FROM capstone_teams WHERE department = ?", (department,)).fetchone()[0]
    finally:
        conn.close()
    return len(rows), sum(done for _, done in rows), {email for email, _ in rows}, teams


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_facilitator_reads_and_exports_her_departments_report(
        new_context: Callable[..., BrowserContext], request: pytest.FixtureRequest, server_db: Path,
        javascript: bool) -> None:
    world: CapstoneWorld = request.getfixturevalue("capstone_world")
    context = new_context(javascript=javascript, state=world.states["fay"])
    page = context.new_page()
    page.goto("/")
    page.get_by_role("navigation").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Programme report")
    expect(page.locator("#main-content")).to_contain_text("Cabinet Office")

    enrolled, completed, emails, teams = department_counts(server_db, "Cabinet Office")
    assert enrolled >= 4  # the capstone world's four learners, at least
    expect(page.locator('[data-figure="enrolled"]')).to_have_text(f"{enrolled:,}")
    expect(page.locator('[data-figure="completed"]')).to_have_text(f"{completed:,}")
    assert teams >= 2  # the capstone world's two teams, at least
    expect(page.locator('[data-figure="teams"]')).to_have_text(f"Teams formed: {teams:,}.")
    # Each chart has its table: the funnel's rows are the course's modules.
    expect(page.get_by_role("img", name="Completion funnel by module")).to_be_visible()
    expect(page.get_by_role("table").filter(has_text="Learners who completed each module")).to_be_visible()

    # A wrong date: the error summary links to the field; fixing it shows the filtered report.
    page.get_by_role("group", name="Enrolled on or after").get_by_label("Day").fill("31")
    page.get_by_role("group", name="Enrolled on or after").get_by_label("Month").fill("2")
    page.get_by_role("group", name="Enrolled on or after").get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Apply filters").click()
    follow_error_summary(page, PointerDriver(page), {"from-day": "The start date must be a real date, like 27 3 2026"})
    page.get_by_role("group", name="Enrolled on or after").get_by_label("Day").fill("1")
    page.get_by_role("group", name="Enrolled on or after").get_by_label("Month").fill("1")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#main-content")).to_contain_text("learners who enrolled on or after 1 January 2026")
    expect(page.locator('[data-figure="enrolled"]')).to_have_text(f"{enrolled:,}")

    page.get_by_role("link", name="See and search the learners").click()
    # Other tests register learners called Ada too: the capstone world's Ada has an email of her own.
    page.get_by_label("Name or email address").fill(f"ada-capstone-{os.getpid()}@")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("link", name="Ada Lovelace")).to_have_count(1)
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")

    page.go_back()
    page.get_by_label("Name or email address").fill("")
    page.get_by_role("button", name="Apply filters").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download every learner that matches these filters (CSV)").click()
    path = download.value.path()
    assert download.value.suggested_filename == f"{SLUG}-learners.csv"
    rows = list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
    assert rows[0][:4] == ["learner id", "name", "email", "department"]
    assert {row[2] for row in rows[1:]} == emails  # since 1 January 2026: every one of them
    assert {row[3] for row in rows[1:]} == {"Cabinet Office"}


def test_a_learner_is_refused_reports(new_context: Callable[..., BrowserContext]) -> None:
    page = new_context(signed_in=True).new_page()
    page.goto("/")
    expect(page.get_by_role("navigation").get_by_role("link", name="Reports")).to_have_count(0)
    response = page.goto(f"/reports/{SLUG}/")
    assert response is not None and response.status == 403
    expect(page.locator("#main-content")).to_contain_text("Reports are for facilitators and admins")
