"""A learner's journey through the Innovation Masterclass in Chromium: with a pointer and with the keyboard alone,
each with JavaScript on and off.

A new learner registers (after a validation error), takes the first module (a video, polls, a reflection),
answers the first question of module 1 (no answer, a wrong answer and its feedback, a retry, the right answer),
starts the next lesson, signs out, signs back in and continues where they left off.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from .browserkit import PASSWORD, SLUG, Driver, KeyboardDriver, PointerDriver, focus_problem, is_focused, lesson

pytestmark = pytest.mark.browser

DRIVERS: dict[str, type[Driver]] = {"pointer": PointerDriver, "keyboard": KeyboardDriver}
COURSE_HOME = f"/{SLUG}/"


def main(page: Page) -> Locator:
    return page.locator("#main-content")


def block(page: Page, block_id: str) -> Locator:
    return page.locator(f"#block-{block_id}")


def submit(page: Page, block_id: str) -> Locator:
    return block(page, block_id).locator("button[type=submit]")


def option(page: Page, block_id: str, label: str) -> Locator:
    return block(page, block_id).get_by_label(label, exact=True)


def next_lesson_link(page: Page) -> Locator:
    return page.locator(".govuk-pagination__next a")


def follow_error_summary(page: Page, drive: Driver, expected: dict[str, str]) -> None:
    """The error summary lists each error, and following its link puts focus on that field."""
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    assert page.title().startswith("Error: "), page.title()
    links = summary.locator("a")
    expect(links).to_have_count(len(expected))
    for field_id, message in expected.items():
        link = summary.locator(f'a[href="#{field_id}"]')
        expect(link).to_have_text(message)
        drive.follow(link)
        field = page.locator(f"#{field_id}")
        expect(field).to_be_focused()


def sign_out(page: Page, drive: Driver) -> None:
    drive.follow(page.get_by_role("button", name="Sign out"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("how", list(DRIVERS))
def test_learner_journey(new_context: Callable[..., BrowserContext], email: str, how: str, javascript: bool
                         ) -> None:
    context = new_context(javascript=javascript)
    page = context.new_page()
    drive = DRIVERS[how](page)

    # Arriving: the course asks them to sign in first.
    page.goto("/")
    assert page.url.endswith(f"/sign-in?next=/{SLUG}/"), page.url
    if how == "keyboard":
        skip_link_moves_focus_to_main_content(page)
    drive.follow(main(page).get_by_role("link", name="Create an account"))

    # Registering, first with nothing filled in.
    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
    drive.follow(page.get_by_role("button", name="Create account"))
    follow_error_summary(page, drive, {
        "name": "Enter your full name",
        "email": "Enter your work email address",
        "department": "Select your department",
        "password": "Password must be 10 characters or more",
    })
    drive.type_into(page.get_by_label("Full name"), "Ada Lovelace")
    drive.type_into(page.get_by_label("Work email address"), email)
    drive.select(page.get_by_label("Department"), "Cabinet Office")
    drive.type_into(page.get_by_label("Create a password"), PASSWORD)
    drive.follow(page.get_by_role("button", name="Create account"))

    # The course home: nothing started yet.
    expect(page.get_by_role("heading", level=1)).to_have_text("Innovation Masterclass")
    assert page.url.endswith(COURSE_HOME)
    expect(main(page)).to_contain_text("You have completed 0 of 29 lessons (0%).")
    expect(page.locator("#module-1-status")).to_have_text("Not yet started")
    drive.follow(page.get_by_role("button", name="Start the course").or_(
        page.get_by_role("link", name="Start the course")))

    # Module 1 of 8, "Start here": a text lesson completes when it is opened.
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to the Innovation Masterclass")
    expect(page.locator("#lesson-status")).to_have_text("You have completed this lesson.")
    drive.follow(next_lesson_link(page))

    # The video lesson: mark the video watched, answer the poll and see everyone's answers.
    expect(page.get_by_role("heading", level=1)).to_have_text("Watch: how the programme works")
    drive.follow(submit(page, "intro-video"))
    expect(block(page, "intro-video")).to_contain_text("You have watched this video.")
    drive.choose(option(page, "start-area-to-improve", "A meeting"))
    drive.follow(submit(page, "start-area-to-improve"))
    results = block(page, "start-area-to-improve").locator("table")
    expect(results).to_be_visible()
    expect(results.locator("tr", has_text="A meeting")).to_contain_text("(your answer)")
    expect(page.locator("#lesson-status")).to_have_text("You have completed this lesson.")
    drive.follow(next_lesson_link(page))

    # Where you are now: three polls and a reflection.
    expect(page.get_by_role("heading", level=1)).to_have_text("Where you are now")
    for block_id, label in [("confidence-before", "4 – Agree"),
                            ("permission-before", "3 – Neither agree nor disagree"),
                            ("ideas-shared-before", "Once")]:
        drive.choose(option(page, block_id, label))
        drive.follow(submit(page, block_id))
        expect(block(page, block_id).locator("table")).to_contain_text("(your answer)")
    drive.type_into(block(page, "start-frustration").locator("textarea"),
                    "People often send the wrong proof of address with their application.")
    drive.follow(submit(page, "start-frustration"))
    expect(block(page, "start-frustration")).to_contain_text("Your reflection is saved.")
    expect(page.locator("#lesson-status")).to_have_text("You have completed this lesson.")
    drive.follow(next_lesson_link(page))

    # Module 1's first question: no answer, then a wrong answer and its feedback, then the right answer.
    expect(page.get_by_role("heading", level=1)).to_have_text("What is a small change?")
    question = "m1-define-small-change"
    drive.follow(submit(page, question))
    follow_error_summary(page, drive, {f"b-{question}-0": "Select an answer"})
    expect(block(page, question).locator(".govuk-error-message")).to_contain_text("Select an answer")
    drive.choose(option(page, question, "It needs sign-off from a senior leader before anyone can start"))
    drive.follow(submit(page, question))
    feedback = block(page, question).locator("[data-mc-feedback]")
    expect(feedback.get_by_role("heading")).to_have_text("Not quite")
    expect(feedback).to_contain_text("A change that needs senior sign-off to start is usually too big")
    expect(feedback).to_contain_text("Have another go.")
    expect(page.locator(".govuk-error-summary")).to_have_count(0)
    assert not page.title().startswith("Error: ")
    drive.choose(option(page, question, "Your team can try it within a few weeks, using what it already has"))
    drive.follow(block(page, question).get_by_role("button", name="Try again"))
    expect(feedback.get_by_role("heading")).to_have_text("Correct")
    expect(feedback).to_contain_text("Right. A small change is one your team controls")
    expect(block(page, question).locator("button[type=submit]")).to_have_count(0)
    expect(page.locator("#lesson-status")).to_have_text("You have completed this lesson.")
    drive.follow(next_lesson_link(page))

    # The next lesson: a reflection too short to save, then they leave.
    expect(page.get_by_role("heading", level=1)).to_have_text("Continuous improvement")
    reflection = "m1-improvement-you-saw"
    drive.type_into(block(page, reflection).locator("textarea"), "Shorter handovers")
    drive.follow(submit(page, reflection))
    follow_error_summary(page, drive, {f"b-{reflection}-text": "Write at least 30 words (you wrote 2)"})
    expect(block(page, reflection).locator("textarea")).to_have_value("Shorter handovers")
    sign_out(page, drive)

    # Coming back: sign in, and continue where they left off.
    drive.type_into(page.get_by_label("Work email address"), email)
    drive.type_into(page.get_by_label("Password"), PASSWORD)
    drive.follow(main(page).get_by_role("button", name="Sign in"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Innovation Masterclass")
    expect(page.locator("#module-1-status")).to_have_text("Completed")
    expect(page.locator("#module-2-status")).to_have_text("In progress")
    expect(main(page)).to_contain_text("You have completed 4 of 29 lessons (14%).")
    resume = page.get_by_role("button", name="Continue where you left off").or_(
        page.get_by_role("link", name="Continue where you left off"))
    expect(resume).to_have_attribute("href", lesson("01-why-small-changes", "continuous-improvement"))
    drive.follow(resume)
    expect(page.get_by_role("heading", level=1)).to_have_text("Continuous improvement")
    assert page.url.endswith(lesson("01-why-small-changes", "continuous-improvement"))

    if isinstance(drive, KeyboardDriver):
        assert not drive.problems, "focus was not visible:\n" + "\n".join(drive.problems)


def skip_link_moves_focus_to_main_content(page: Page) -> None:
    """The first Tab on a page focuses "Skip to main content", visibly; Enter moves focus to the main content."""
    page.keyboard.press("Tab")
    skip = page.locator(".govuk-skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Skip to main content")
    assert skip.is_visible() and focus_problem(page) is None
    page.keyboard.press("Enter")
    expect(main(page)).to_be_focused()
    assert is_focused(main(page))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_keyboard_operates_the_other_controls(new_context: Callable[..., BrowserContext], javascript: bool) -> None:
    """What the journey does not touch, by keyboard alone: a checklist, the transcript's details, deleting an
    account."""
    context = new_context(javascript=javascript, signed_in=True)
    page = context.new_page()
    drive = KeyboardDriver(page)

    page.goto(lesson("05-experimenting-and-measuring", "plan-do-study-act"))
    checklist = block(page, "m5-experiment-plan")
    items = checklist.locator("input[type=checkbox]")
    count = items.count()
    drive.choose(items.nth(0))
    drive.choose(items.nth(2))
    drive.follow(submit(page, "m5-experiment-plan"))
    expect(checklist).to_contain_text(f"Saved: 2 of {count} ticked.")
    expect(checklist.locator("input[type=checkbox]:checked")).to_have_count(2)

    page.goto(lesson("00-start", "introduction-video"))
    transcript = block(page, "intro-video").locator("details")
    expect(transcript).to_have_attribute("open", "")
    drive.follow(transcript.locator("summary"))
    expect(transcript).not_to_have_attribute("open", "")
    page.keyboard.press("Enter")
    expect(transcript).to_have_attribute("open", "")

    page.goto("/my-data")
    drive.follow(page.get_by_role("button", name="Delete my account"))
    follow_error_summary(page, drive, {"confirm": "Select yes to confirm that you want to delete your account"})
    drive.choose(page.get_by_label("Yes, delete my account and all my records"))
    drive.follow(page.get_by_role("button", name="Delete my account"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account has been deleted")

    assert not drive.problems, "focus was not visible:\n" + "\n".join(drive.problems)
