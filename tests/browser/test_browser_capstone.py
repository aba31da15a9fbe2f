"""The team project (capstone) in Chromium, with JavaScript on and off: three learners form a team and go through
every stage, and their case study reaches the gallery.

Ada does everything with the keyboard alone (every element she tabs through must show its focus); Bob and Cat use
a pointer. Ada creates the team from the course home, Bob joins with the code and Cat with the link; each posts an
idea (Ada first submits an empty one and follows the error summary); Bob comments and Cat votes; Ada proposes the
change and Bob's confirmation makes the majority; Cat plans with a measure, Bob records three measurements (a chart
and a table); everyone reflects; Ada drafts and confirms the case study, Bob's confirmation publishes it, and Ada
finds it in the gallery.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from .browserkit import SLUG, Driver, KeyboardDriver, PointerDriver
from .test_browser_journeys import follow_error_summary, main

pytestmark = pytest.mark.browser


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def stage_link(page: Page, title: str) -> Locator:
    return page.get_by_role("navigation", name="Team project stages").get_by_role("link", name=title)


def idea(page: Page, title: str) -> Locator:
    return page.locator("article.mc-idea").filter(has=page.get_by_role("heading", name=title))


def post_idea(page: Page, drive: Driver, title: str) -> None:
    drive.type_into(page.get_by_label("Title", exact=True), title)
    drive.type_into(page.get_by_label("The problem it solves"), "People fill in the same boxes twice.")
    drive.type_into(page.get_by_label("The change you suggest"), "Fill in what we already know.")
    drive.follow(page.get_by_role("button", name="Post idea"))
    expect(idea(page, title)).to_contain_text("Posted by")


def reflect(page: Page, drive: Driver) -> None:
    drive.follow(stage_link(page, "Reflect"))
    expect(heading(page)).to_have_text("Reflect")
    drive.type_into(page.get_by_label("What worked"), "Quick to try.")
    drive.type_into(page.get_by_label("What did not work"), "Agreeing took a while.")
    drive.type_into(page.get_by_label("What you would tell another team"), "Measure before you start.")
    drive.follow(page.get_by_role("button", name="Save reflection"))
    expect(page.get_by_role("button", name="Save changes")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_three_learners_complete_the_team_project(new_context: Callable[..., BrowserContext], javascript: bool
                                                  ) -> None:
    mode = "js" if javascript else "no-js"
    team_name, case_title = f"Form Fixers {mode}", f"Pre-filled forms {mode}"
    pages: dict[str, Page] = {}
    for name in ("Ada Lovelace", "Bob Babbage", "Cat Hopper"):
        email = f"{name.split()[0].lower()}-{mode}-journey-{os.getpid()}@example.gov.uk"
        pages[name.split()[0]] = new_context(javascript=javascript, signed_in=True, name=name,
                                             email=email).new_page()
    ada, bob, cat = pages["Ada"], pages["Bob"], pages["Cat"]
    keys, bob_drive, cat_drive = KeyboardDriver(ada), PointerDriver(bob), PointerDriver(cat)

    # Ada starts a team from the course home.
    ada.goto(f"/{SLUG}/")
    keys.follow(main(ada).get_by_role("link", name="Start or join a team"))
    expect(heading(ada)).to_have_text("Your team's small change")
    keys.type_into(ada.get_by_label("Team name"), team_name)
    keys.select(ada.get_by_label("Department"), "Cabinet Office")
    keys.follow(ada.get_by_role("button", name="Create team"))
    expect(heading(ada)).to_have_text(team_name)
    code = ada.locator(".govuk-summary-list__row", has_text="Join code").locator("dd").inner_text().strip()
    link = ada.locator(".govuk-summary-list__row", has_text="Join link").locator("dd").inner_text().strip()

    # Bob joins with the code (after a wrong one), Cat with the link.
    bob.goto(f"/{SLUG}/capstone/")
    bob_drive.type_into(bob.get_by_label("Join code"), "NOSUCHCODE")
    bob_drive.follow(bob.get_by_role("button", name="Join team"))
    follow_error_summary(bob, bob_drive, {"code": "There is no team with that join code. Check it and try again"})
    bob_drive.type_into(bob.get_by_label("Join code"), code.lower())
    bob_drive.follow(bob.get_by_role("button", name="Join team"))
    expect(heading(bob)).to_have_text(team_name)
    cat.goto(link)
    expect(heading(cat)).to_have_text(f"Join {team_name}")
    cat_drive.follow(cat.get_by_role("button", name=f"Join {team_name}"))
    expect(heading(cat)).to_have_text(team_name)
    expect(main(cat)).to_contain_text("Ada Lovelace")
    expect(main(cat)).to_contain_text("Bob Babbage")

    # Ideas: an empty form first, then one idea each; Bob comments and Cat votes on Ada's.
    ada.reload()
    keys.follow(stage_link(ada, "Share ideas"))
    expect(heading(ada)).to_have_text("Share ideas")
    keys.follow(ada.get_by_role("button", name="Post idea"))
    follow_error_summary(ada, keys, {"title": "Enter a title for your idea", "problem": "Enter the problem it solves",
                                     "change": "Enter the change you suggest"})
    post_idea(ada, keys, "Pre-fill the form")
    for page, drive, title in ((bob, bob_drive, "One page guide"), (cat, cat_drive, "Drop the fax step")):
        drive.follow(stage_link(page, "Share ideas"))
        post_idea(page, drive, title)
    bob.reload()
    first = idea(bob, "Pre-fill the form")
    bob_drive.type_into(first.get_by_label("Add a comment on “Pre-fill the form”"), "We could start with the address.")
    bob_drive.follow(first.get_by_role("button", name="Comment"))
    expect(idea(bob, "Pre-fill the form")).to_contain_text("Bob Babbage said:")
    cat.reload()
    first = idea(cat, "Pre-fill the form")
    cat_drive.choose(first.get_by_label("For", exact=True))
    cat_drive.follow(first.get_by_role("button", name="Vote"))
    expect(idea(cat, "Pre-fill the form")).to_contain_text("For: 1. Against: 0.")

    # Agree: Ada proposes (and so confirms); Bob's confirmation makes 2 of 3.
    ada.reload()
    keys.follow(stage_link(ada, "Agree your small change"))
    keys.type_into(ada.get_by_label("The small change you agreed"), "Pre-fill the address on form A1")
    keys.choose(ada.get_by_label("Pre-fill the form (Ada Lovelace)"))
    keys.type_into(ada.get_by_label("Why you chose it"), "Most votes, and easy to try")
    keys.follow(ada.get_by_role("button", name="Propose and confirm"))
    expect(main(ada)).to_contain_text("Confirmed by: Ada Lovelace.")
    bob_drive.follow(stage_link(bob, "Agree your small change"))
    bob_drive.follow(bob.get_by_role("button", name="Confirm this change"))
    expect(main(bob).get_by_role("heading", name="Agreed: our small change")).to_be_visible()
    expect(main(bob)).to_contain_text("Confirmed by: Ada Lovelace, Bob Babbage.")

    # Plan with one measure (Cat), then three measurements (Bob): a chart and a table of them.
    cat_drive.follow(stage_link(cat, "Plan the experiment"))
    cat_drive.type_into(cat.get_by_label("Hypothesis"), "Pre-filling the address saves time.")
    cat_drive.type_into(cat.get_by_label("What will change"), "The address is pre-filled.")
    cat_drive.type_into(cat.locator("#measure_1_name"), "Time to complete")
    cat_drive.type_into(cat.locator("#measure_1_unit"), "minutes")
    cat_drive.type_into(cat.locator("#measure_1_baseline"), "12")
    cat_drive.type_into(cat.get_by_label("Start date"), "2026-03-02")
    cat_drive.type_into(cat.get_by_label("Review date"), "2026-03-30")
    cat_drive.follow(cat.get_by_role("button", name="Save plan"))
    expect(cat.locator("#measure_1_name")).to_have_value("Time to complete")
    bob_drive.follow(stage_link(bob, "Try it and measure"))
    for day, value in (("2026-03-09", "10"), ("2026-03-16", "8.5"), ("2026-03-23", "9")):
        bob_drive.select(bob.get_by_label("Measure", exact=True), "Time to complete (minutes)")
        bob_drive.type_into(bob.get_by_label("Date", exact=True), day)
        bob_drive.type_into(bob.get_by_label("Value", exact=True), value)
        bob_drive.follow(bob.get_by_role("button", name="Record measurement"))
        expect(main(bob).locator("table")).to_contain_text(day)
    expect(bob.get_by_role("img", name="Time to complete (minutes) against its baseline")).to_be_visible()
    expect(main(bob)).to_contain_text("The latest, 9 minutes, is 3 minutes below the baseline of 12 minutes.")

    # Everyone reflects.
    reflect(ada, keys)
    reflect(bob, bob_drive)
    reflect(cat, cat_drive)

    # Ada drafts the case study and confirms it; Bob's confirmation submits and publishes it.
    keys.follow(stage_link(ada, "Share your case study"))
    keys.type_into(ada.get_by_label("Title", exact=True), case_title)
    for field_id, text in (("problem", "Duplicate typing."), ("change", "Pre-fill the address."),
                           ("results", "From 12 to 9 minutes."), ("lessons", "Start small."),
                           ("recommend", "Yes.")):
        keys.type_into(ada.locator(f"#{field_id}"), text)
    keys.choose(ada.get_by_label("Partly worked"))
    keys.select(ada.get_by_label("Theme"), "Process and paperwork")
    keys.follow(ada.get_by_role("button", name="Save draft"))
    expect(main(ada)).to_contain_text("Confirmed so far: nobody.")
    keys.follow(ada.get_by_role("button", name="Confirm and submit this version"))
    expect(main(ada)).to_contain_text("Confirmed so far: Ada Lovelace.")
    bob_drive.follow(stage_link(bob, "Share your case study"))
    bob_drive.follow(bob.get_by_role("button", name="Confirm and submit this version"))
    expect(main(bob).get_by_role("heading", name="Case study published")).to_be_visible()
    bob_drive.follow(main(bob).get_by_role("link", name="gallery", exact=True))
    expect(heading(bob)).to_have_text(case_title)

    # Ada finds it in the gallery.
    ada.reload()
    keys.follow(stage_link(ada, "Case study gallery"))
    expect(heading(ada)).to_have_text("Case study gallery")
    keys.type_into(ada.get_by_label("Search"), case_title)
    keys.select(ada.get_by_label("Outcome"), "Partly worked")
    keys.follow(ada.get_by_role("button", name="Show case studies"))
    expect(ada.locator("#results")).to_have_text("1 case study")
    keys.follow(main(ada).get_by_role("link", name=case_title))
    expect(heading(ada)).to_have_text(case_title)
    expect(main(ada)).to_contain_text("Drop the fax step")

    assert not keys.problems, "focus was not visible:\n" + "\n".join(keys.problems)
