"""Every page type, with JavaScript on and off: axe-core (WCAG 2.2 A and AA) finds nothing, the page reflows at
320 CSS pixels and takes text at 200% without horizontal scrolling, and screenshots at 1280 and 320 pixels wide
go to test-output/screenshots/ for a person to look at.

To add a page type to the sweep, add a ``PageType`` to ``PAGE_TYPES``: a name, a path, and optionally a
set-up that brings the page to the state to check (it gets the Playwright page, already at the path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .browserkit import (
    DESKTOP,
    NARROW,
    SLUG,
    SnapshotTwin,
    format_violations,
    horizontal_overflow,
    lesson,
    page_violations,
    resize_text,
    screenshot,
)
from .capstonekit import CapstoneWorld
from .certificatekit import CertificateWorld

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class PageType:
    name: str
    path: str
    shows: str
    """Text the page shows once set up: proof that the sweep checks the state it means to."""
    setup: Callable[[Page], None] | None = None
    signed_in: bool = True
    fresh: bool = False
    """A learner of its own (a set-up that records answers); otherwise a learner shared by tests that only look."""
    learner: tuple[str, str] | None = None
    """A fresh learner's name and email, when they matter (e.g. too long to fit)."""
    status: int = 200
    """The page's HTTP status, checked when there is no set-up."""
    capstone: str = ""
    """Whose page it is in the shared team-project state (capstonekit: ada, dee or fay; reader: the shared
    learner, in no team); the path is formatted with its ids ({team}, {draft_team}, {code}, {case})."""
    certificate: str = ""
    """Whose page it is in the shared certificate state (certificatekit: ada, bob or admin; public: signed out);
    the path is formatted with its ids ({ada_code}, {bob_code})."""


# ---------------------------------------------------------------------------------------------- set-ups

def answer(block_id: str, *labels: str, text: str | None = None) -> Callable[[Page], None]:
    """Choose options by label (or type text) in a block and submit it; then wait for its feedback or error."""

    def setup(page: Page) -> None:
        block = page.locator(f"#block-{block_id}")
        for label in labels:
            option = block.get_by_label(label, exact=True)
            page.locator(f'label[for="{option.get_attribute("id")}"]').click()
        if text is not None:
            block.locator("textarea").fill(text)
        block.locator("button[type=submit]").click()
        expect(page.locator(f"#block-{block_id} [data-mc-feedback], .govuk-error-summary").first).to_be_visible()

    return setup


def then(*steps: Callable[[Page], None]) -> Callable[[Page], None]:
    def setup(page: Page) -> None:
        for step in steps:
            step(page)

    return setup


def press(button: str) -> Callable[[Page], None]:
    def setup(page: Page) -> None:
        page.locator("#main-content").get_by_role("button", name=button).click()
        expect(page.locator(".govuk-error-summary")).to_be_visible()

    return setup


def clear_and_press(field: str, button: str) -> Callable[[Page], None]:
    def setup(page: Page) -> None:
        page.locator(f"#{field}").fill("")
        press(button)(page)

    return setup


def visit(path: str) -> Callable[[Page], None]:
    def setup(page: Page) -> None:
        page.goto(path)

    return setup


def create_password_link(*, follow: bool = False) -> Callable[[Page], None]:
    """On a learner's page of the reports: create a link for them to set a new password, and (``follow``) open it."""

    def setup(page: Page) -> None:
        page.locator("#main-content").get_by_role("button", name="Create a link to set a new password").click()
        link = page.locator("#link")
        expect(link).to_be_visible()
        if follow:
            page.goto(link.input_value())

    return setup


def change_role(page: Page) -> None:
    """On a learner's page of the reports, as an admin: give them the role they have, which says so."""
    page.locator("#main-content").get_by_role("button", name="Change role").click()
    expect(page.locator(".govuk-notification-banner")).to_be_visible()


QUESTION = "m1-define-small-change"
WRONG = "It needs sign-off from a senior leader before anyone can start"
RIGHT = "Your team can try it within a few weeks, using what it already has"
HOME = f"/{SLUG}/"
CAPSTONE = f"/{SLUG}/capstone"
TEAM = CAPSTONE + "/teams/{team}"
DRAFT_TEAM = CAPSTONE + "/teams/{draft_team}"
PROGRESS = f"/{SLUG}/progress"

PAGE_TYPES = [
    # (name, path, text it shows once set up, [set-up], [signed_in=False], [fresh=True: a learner of its own])
    PageType("course-home-new", HOME, "Start the course", fresh=True),
    PageType("course-home-in-progress", HOME, "Continue where you left off",
             setup=then(visit(lesson("00-start", "welcome")), visit(HOME)), fresh=True),
    PageType("lesson-text-table-callouts", lesson("00-start", "welcome"), "Three ideas that run through the course"),
    PageType("lesson-video-poll", lesson("00-start", "introduction-video"), "Mark as watched"),
    PageType("lesson-polls-reflection", lesson("00-start", "where-you-are-now"), "Save reflection"),
    PageType("lesson-question", lesson("01-why-small-changes", "what-is-a-small-change"), "Check your answer"),
    PageType("lesson-warning-callout", lesson("01-why-small-changes", "psychological-safety"), "Warning"),
    PageType("lesson-checklist", lesson("05-experimenting-and-measuring", "plan-do-study-act"), "Save checklist"),
    PageType("question-error", lesson("01-why-small-changes", "what-is-a-small-change"), "Select an answer",
             setup=answer(QUESTION)),
    PageType("question-wrong-feedback", lesson("01-why-small-changes", "what-is-a-small-change"), "Not quite",
             setup=answer(QUESTION, WRONG), fresh=True),
    PageType("question-right-feedback", lesson("01-why-small-changes", "what-is-a-small-change"), "Correct",
             setup=then(answer(QUESTION, WRONG), answer(QUESTION, RIGHT)), fresh=True),
    PageType("video-watched-poll-results", lesson("00-start", "introduction-video"), "What everyone answered",
             setup=then(answer("intro-video"), answer("start-area-to-improve", "A meeting")), fresh=True),
    PageType("poll-error", lesson("00-start", "where-you-are-now"), "Select an answer",
             setup=answer("confidence-before")),
    PageType("reflection-error", lesson("01-why-small-changes", "continuous-improvement"), "Write at least 30 words",
             setup=answer("m1-improvement-you-saw", text="Too short")),
    PageType("reflection-saved", lesson("00-start", "where-you-are-now"), "Your reflection is saved",
             setup=answer("start-frustration", text="The forms ask for the same thing twice."), fresh=True),
    PageType("checklist-saved", lesson("05-experimenting-and-measuring", "plan-do-study-act"), "Saved: 1 of",
             setup=then(lambda page: page.locator('label[for="b-m5-experiment-plan-0"]').click(),
                        answer("m5-experiment-plan")), fresh=True),
    PageType("register", "/register", "Create an account", signed_in=False),
    PageType("register-errors", "/register", "There is a problem", setup=press("Create account"),
             signed_in=False),
    PageType("sign-in", "/sign-in", "Sign in", signed_in=False),
    PageType("sign-in-errors", "/sign-in", "Enter your password", setup=press("Sign in"), signed_in=False),
    PageType("my-data", "/my-data", "Download my data"),
    PageType("my-data-long-name-and-email", "/my-data", "Download my data",
             learner=("Bartholomew " + "X" * 180, "a" * 64 + "@" + "b" * 60 + ".example.gov.uk")),
    PageType("my-data-errors", "/my-data", "Select yes to confirm", setup=press("Delete my account")),
    PageType("my-data-password-changed", "/my-data?changed=password", "Your password has been changed"),
    PageType("my-data-signed-out-elsewhere", "/my-data?changed=sessions", "You have been signed out on every other"),
    PageType("password-forgotten", "/password/forgotten", "Ask a facilitator", signed_in=False),
    PageType("password-change", "/password/change", "Current password"),
    PageType("password-change-errors", "/password/change", "Enter your current password",
             setup=press("Change password")),
    PageType("accessibility-statement", "/accessibility", "Reporting accessibility problems", signed_in=False),
    PageType("not-found", "/no-such-page/", "Page not found", signed_in=False, status=404),
    PageType("lesson-not-found", lesson("01-why-small-changes", "no-such-lesson"), "Page not found", status=404),
    # The team project, in one shared state (capstonekit): team A has done every stage, team B has a draft.
    PageType("capstone-start", f"{CAPSTONE}/", "Or create a team", capstone="reader"),
    PageType("capstone-start-error", f"{CAPSTONE}/", "Enter the join code", setup=press("Join team"),
             capstone="reader"),
    PageType("capstone-join", f"{CAPSTONE}/join/{{code}}", "Join Form Fixers", capstone="reader"),
    PageType("capstone-team", f"{TEAM}/", "Invite colleagues", capstone="ada"),
    PageType("capstone-ideas", f"{TEAM}/ideas", "We could start with the address", capstone="ada"),
    PageType("capstone-ideas-error", f"{DRAFT_TEAM}/ideas", "There is a problem", setup=press("Post idea"), capstone="dee"),
    PageType("capstone-ideas-facilitator", f"{TEAM}/ideas", "Hide this idea", capstone="fay"),
    PageType("capstone-agree", f"{TEAM}/agree", "Agreed: our small change", capstone="ada"),
    PageType("capstone-agree-propose", f"{DRAFT_TEAM}/agree", "Which ideas it came from", capstone="dee"),
    PageType("capstone-plan", f"{TEAM}/plan", "Save plan", capstone="ada"),
    PageType("capstone-measure-chart", f"{TEAM}/measure", "Record a measurement", capstone="ada"),
    PageType("capstone-reflect", f"{TEAM}/reflect", "The team's reflections", capstone="ada"),
    PageType("capstone-share-published", f"{TEAM}/share", "Case study published", capstone="ada"),
    PageType("capstone-share-draft", f"{DRAFT_TEAM}/share", "Edit the draft", capstone="dee"),
    PageType("capstone-share-errors", f"{DRAFT_TEAM}/share", "Enter a title",
             setup=clear_and_press("title", "Save draft"), capstone="dee"),
    PageType("capstone-gallery", f"/{SLUG}/gallery/", "Pre-filled forms", capstone="reader"),
    PageType("capstone-gallery-case-study", f"/{SLUG}/gallery/{{case}}", "The measurements", capstone="reader"),
    PageType("capstone-facilitate", f"{CAPSTONE}/facilitate", "Teams you facilitate", capstone="fay"),
    # Reports, for a facilitator (Fay: her department) and an admin (Alan: every department and the filter for it)
    PageType("reports-dashboard", f"/reports/{SLUG}/", "Programme report", capstone="fay"),
    PageType("reports-dashboard-admin", f"/reports/{SLUG}/?department=Cabinet+Office", "Completion by module",
             capstone="alan"),
    PageType("reports-dashboard-date-error", f"/reports/{SLUG}/?from-day=31&from-month=2&from-year=2026",
             "must be a real date", capstone="alan", status=400),
    PageType("reports-learners", f"/reports/{SLUG}/learners", "Ada Lovelace", capstone="fay"),
    PageType("reports-learner", f"/reports/{SLUG}/learners/{{ada_id}}", "What to do next", capstone="fay"),
    PageType("reports-learner-admin", f"/reports/{SLUG}/learners/{{pat_id}}", "What can Pat Forgetful do?",
             capstone="alan"),
    PageType("reports-learner-role-changed", f"/reports/{SLUG}/learners/{{pat_id}}", "Pat Forgetful is now a learner",
             setup=change_role, capstone="alan"),
    PageType("reports-password-link", f"/reports/{SLUG}/learners/{{pat_id}}", "Anyone with this link",
             setup=create_password_link(), capstone="fay"),
    PageType("password-new", f"/reports/{SLUG}/learners/{{pat_id}}", "You are setting a new password for",
             setup=create_password_link(follow=True), capstone="alan"),
    PageType("password-new-errors", f"/reports/{SLUG}/learners/{{pat_id}}", "Password must be 10 characters",
             setup=then(create_password_link(follow=True), press("Set password and sign in")), capstone="alan"),
    PageType("reports-learners-search", f"/reports/{SLUG}/learners?search=nobody-at-all", "No learners match",
             capstone="alan"),
    # Certificates (certificatekit): Ada's is valid, Bob's was revoked by an admin.
    PageType("course-home-certificate", HOME, "View and print your certificate", certificate="ada"),
    PageType("certificate", f"/{SLUG}/certificate", "This certifies that", certificate="ada"),
    PageType("certificate-revoked", f"/{SLUG}/certificate", "Completed on a shared account", certificate="bob"),
    PageType("certificate-verify", "/certificates/{ada_code}", "This certificate is genuine", certificate="public"),
    PageType("certificate-verify-revoked", "/certificates/{bob_code}", "This certificate was revoked",
             certificate="public"),
    PageType("certificate-verify-unknown", "/certificates/MC-0000-0000-0000", "No certificate has that code",
             certificate="public", status=404),
    PageType("certificate-lookup", "/certificates", "Check a certificate", certificate="public"),
    PageType("certificate-lookup-error", "/certificates", "Enter the certificate's verification code",
             setup=press("Check certificate"), certificate="public"),
    PageType("admin-certificates", "/admin/certificates", "The latest certificates", certificate="admin"),
    PageType("admin-certificate-revoked", "/admin/certificates/{bob_code}", "Revoked by", certificate="admin"),
    PageType("admin-certificate-revoke-error", "/admin/certificates/{ada_code}", "Enter why you are revoking",
             setup=press("Revoke certificate"), certificate="admin"),
    # Progress: a new learner's, one with a question answered wrong then right, and one in a team; a team's.
    PageType("my-progress-new", PROGRESS, "Not yet started", fresh=True),
    PageType("my-progress-answered", lesson("01-why-small-changes", "what-is-a-small-change"),
             "2 attempts, right on the 2nd",
             setup=then(answer(QUESTION, WRONG), answer(QUESTION, RIGHT), visit(PROGRESS)), fresh=True),
    PageType("my-progress-in-a-team", PROGRESS, "Form Fixers", capstone="ada"),
    PageType("capstone-team-progress", f"{TEAM}/progress", "Members' progress in the course", capstone="ada"),
    PageType("capstone-team-progress-facilitator", f"{TEAM}/progress", "Stages of the team project",
             capstone="fay"),
]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("kind", PAGE_TYPES, ids=[k.name for k in PAGE_TYPES])
def test_page_type(new_context: Callable[..., BrowserContext], snapshot_twin: SnapshotTwin, screenshots: Path,
                   request: pytest.FixtureRequest, kind: PageType, javascript: bool) -> None:
    path = kind.path
    if kind.certificate:
        certified: CertificateWorld = request.getfixturevalue("certificate_world")
        path = path.format(**certified.ids)
        context = new_context(javascript=javascript, state=certified.states.get(kind.certificate))
    elif kind.capstone:
        world: CapstoneWorld = request.getfixturevalue("capstone_world")
        path = path.format(**world.ids)
        context = new_context(javascript=javascript, shared=kind.capstone == "reader",
                              state=world.states.get(kind.capstone))
    elif kind.learner:
        name, email = kind.learner
        context = new_context(javascript=javascript, signed_in=True, name=name, email=f"{javascript}{email}")
    else:
        context = new_context(javascript=javascript, signed_in=kind.signed_in,
                              shared=kind.signed_in and not kind.fresh)
    page = context.new_page()
    response = page.goto(path)
    assert response is not None
    if kind.setup is not None:
        kind.setup(page)
    else:
        assert response.status == kind.status, f"{path} answered {response.status}"
    expect(page.locator("#main-content")).to_contain_text(kind.shows)
    page.wait_for_load_state("load")  # the stylesheet too, before anything is measured
    mode = "js" if javascript else "no-js"
    problems: list[str] = []

    if javascript:  # the screenshots with JavaScript off at 320 px wide show how the two differ
        screenshot(page, f"{kind.name}--{mode}--1280")
    violations = page_violations(page, snapshot_twin, javascript=javascript)
    if violations:
        problems.append(f"axe-core at 1280 px wide:\n{format_violations(violations)}")
    resize_text(page, 200)
    if overflow := horizontal_overflow(page):
        problems.append(f"text resized to 200% at 1280 px wide scrolls sideways: {overflow}")
    resize_text(page, 100)

    page.set_viewport_size(NARROW)
    if overflow := horizontal_overflow(page):
        problems.append(f"at 320 px wide the page scrolls sideways: {overflow}")
    violations = page_violations(page, snapshot_twin, javascript=javascript)
    if violations:
        problems.append(f"axe-core at 320 px wide:\n{format_violations(violations)}")
    screenshot(page, f"{kind.name}--{mode}--320")
    page.set_viewport_size(DESKTOP)

    assert not problems, f"{kind.name} ({mode}, {page.url}):\n" + "\n\n".join(problems)
