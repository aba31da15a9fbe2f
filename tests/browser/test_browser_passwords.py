"""A forgotten password, end to end in Chromium against the real server (decision 0033): the learner finds out
what to do from the sign-in page, their department's facilitator creates a link on the learner's page of the
reports, the learner sets a new password with it on another computer, is signed in there and out everywhere
else, and the link works once. With JavaScript on and off."""

from __future__ import annotations

import os
from collections.abc import Callable
from itertools import count

import pytest
from playwright.sync_api import BrowserContext, expect

from .browserkit import PASSWORD, SLUG
from .capstonekit import CapstoneWorld

pytestmark = pytest.mark.browser

NEW = "a brand new password"
_people = count()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_facilitator_gives_a_learner_a_link_to_set_a_forgotten_password(
        new_context: Callable[..., BrowserContext], capstone_world: CapstoneWorld, javascript: bool) -> None:
    email = f"forgetful{next(_people)}-{javascript}-{os.getpid()}@example.gov.uk"
    name = f"Forgetful Learner {javascript}"
    # The learner registered (Cabinet Office, Fay's department) and started the course on their usual computer.
    usual = new_context(javascript=javascript, signed_in=True, name=name, email=email).new_page()
    usual.goto(f"/{SLUG}/")
    expect(usual.get_by_role("heading", level=1)).to_be_visible()

    # On another computer they cannot remember the password; the sign-in page says whom to ask.
    elsewhere = new_context(javascript=javascript).new_page()
    elsewhere.goto("/sign-in")
    elsewhere.get_by_role("link", name="I have forgotten my password").click()
    expect(elsewhere.locator("#main-content")).to_contain_text("Ask a facilitator in your department")

    # Fay finds them in the reports and creates a link.
    fay = new_context(javascript=javascript, state=capstone_world.states["fay"]).new_page()
    fay.goto(f"/reports/{SLUG}/learners?search={email}")
    fay.locator("#main-content").get_by_role("link", name=name).click()
    fay.get_by_role("button", name="Create a link to set a new password").click()
    link = fay.get_by_label("Link to set a new password").input_value()
    assert "/password/new/" in link

    # The learner opens it, makes a mistake, then sets a new password, and is signed in.
    elsewhere.goto(link)
    expect(elsewhere.locator("#main-content")).to_contain_text(email)
    elsewhere.get_by_role("button", name="Set password and sign in").click()
    summary = elsewhere.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Password must be 10 characters or more")
    summary.get_by_role("link").click()
    expect(elsewhere.get_by_label("New password")).to_be_focused()
    elsewhere.get_by_label("New password").fill(NEW)
    elsewhere.get_by_role("button", name="Set password and sign in").click()
    expect(elsewhere.locator(".govuk-notification-banner")).to_contain_text("Your password has been changed")
    expect(elsewhere.locator("#main-content")).to_contain_text(email)

    # The usual computer was signed out; the old password no longer works there, the new one does.
    usual.goto(f"/{SLUG}/")
    expect(usual.get_by_role("heading", level=1)).to_have_text("Sign in")
    usual.get_by_label("Work email address").fill(email)
    usual.get_by_label("Password").fill(PASSWORD)
    usual.get_by_role("button", name="Sign in").click()
    expect(usual.locator(".govuk-error-summary")).to_contain_text("Enter a correct email address and password")
    usual.get_by_label("Password").fill(NEW)
    usual.get_by_role("button", name="Sign in").click()
    expect(usual.get_by_role("button", name="Sign out")).to_be_visible()

    # The link worked once.
    reused = elsewhere.goto(link)
    assert reused is not None and reused.status == 404
    expect(elsewhere.locator("#main-content")).to_contain_text("This link to set a new password does not work")
