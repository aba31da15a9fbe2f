"""Form errors in the GOV.UK error summary pattern, and statuses told in words, with JavaScript on and off.

The journeys cover registration, a question and a reflection; these cover every other form that can fail.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from .browserkit import SLUG, lesson

pytestmark = pytest.mark.browser

# (name, path, signed in, the button that submits, {field id: error message})
FORMS = [
    ("sign-in", "/sign-in", False, "#main-content button:has-text('Sign in')",
     {"email": "Enter your work email address", "password": "Enter your password"}),
    ("delete-account", "/my-data", True, "button:has-text('Delete my account')",
     {"confirm": "Select yes to confirm that you want to delete your account"}),
    ("poll", lesson("00-start", "where-you-are-now"), True, "#block-confidence-before button[type=submit]",
     {"b-confidence-before-0": "Select an answer"}),
    ("reflection-empty", lesson("00-start", "where-you-are-now"), True, "#block-start-frustration button[type=submit]",
     {"b-start-frustration-text": "Write your reflection"}),
]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize(("name", "path", "signed_in", "button", "errors"), FORMS, ids=[f[0] for f in FORMS])
def test_error_summary_links_move_focus_to_the_field(new_context: Callable[..., BrowserContext], javascript: bool,
                                                     name: str, path: str, signed_in: bool, button: str,
                                                     errors: dict[str, str]) -> None:
    context = new_context(javascript=javascript, shared=signed_in)
    page = context.new_page()
    page.goto(path)
    page.locator(button).click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    if javascript:  # GOV.UK Frontend moves focus to the summary, so it is read out first
        expect(summary).to_be_focused()
    assert page.title().startswith("Error: "), page.title()
    expect(summary.locator("a")).to_have_count(len(errors))
    for field_id, message in errors.items():
        link = summary.locator(f'a[href="#{field_id}"]')
        expect(link).to_have_text(message)
        # The field's own error message says the same, and the field is described by it.
        field = page.locator(f"#{field_id}")
        expect(page.locator(".govuk-error-message", has_text=message)).to_have_count(1)
        link.click()
        expect(field).to_be_focused()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_statuses_are_words_not_colours(new_context: Callable[..., BrowserContext], javascript: bool) -> None:
    """Every progress status and every piece of feedback is text (WCAG 1.4.1), whatever its colour."""
    context = new_context(javascript=javascript, signed_in=True)
    page = context.new_page()
    page.goto(lesson("00-start", "welcome"))  # opening it completes it; its module is under way
    page.goto(lesson("01-why-small-changes", "what-is-a-small-change"))
    page.locator('label[for="b-m1-define-small-change-0"]').click()
    page.locator("#block-m1-define-small-change button[type=submit]").click()
    feedback = page.locator("#block-m1-define-small-change [data-mc-feedback]")
    expect(feedback.get_by_role("heading")).to_have_text("Not quite")
    nav = page.get_by_role("navigation", name="In this module")
    expect(nav.get_by_role("listitem")).to_have_count(4)
    for item in nav.get_by_role("listitem").all():
        assert any(word in item.inner_text() for word in ("Completed", "In progress", "Not yet started")), \
            item.inner_text()
    page.goto(f"/{SLUG}/")
    statuses = page.locator(".govuk-task-list__status")
    expect(statuses).to_have_count(8)
    words = [s.strip() for s in statuses.all_inner_texts()]
    assert words[:3] == ["In progress", "In progress", "Not yet started"], words
    assert set(words) <= {"Completed", "In progress", "Not yet started", "Cannot start yet"}, words
