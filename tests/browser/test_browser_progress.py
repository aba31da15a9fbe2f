"""The progress pages by keyboard alone, JavaScript on and off: the links to them (from the course home and the team
page) and the links on them are reached with Tab, every stop on the way shows its focus (the tables' scroll regions
included), and Enter follows them. test_browser_pages.py checks the same pages with axe-core and for reflow."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from .browserkit import SLUG, KeyboardDriver
from .capstonekit import CapstoneWorld

pytestmark = pytest.mark.browser

HOME = f"/{SLUG}/"
FIRST_LESSON = "Welcome to the Innovation Masterclass"


def main(page: Page) -> Locator:
    return page.locator("#main-content")


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_my_progress_by_keyboard(new_context: Callable[..., BrowserContext], javascript: bool) -> None:
    page = new_context(javascript=javascript, signed_in=True).new_page()
    drive = KeyboardDriver(page)

    page.goto(HOME)
    drive.follow(main(page).get_by_role("link", name="See your progress in detail"))
    expect(heading(page)).to_have_text("Your progress")
    # The last link on the page comes after every table: Tab passes each scroll region on the way.
    regions = main(page).locator(".mc-table-region")
    assert regions.count() >= 8
    drive.follow(main(page).get_by_role("link", name="Start or join a team"))
    expect(page).to_have_url(re.compile(rf"/{SLUG}/capstone/$"))

    page.goto(f"/{SLUG}/progress")
    drive.follow(main(page).get_by_role("link", name=FIRST_LESSON))
    expect(heading(page)).to_have_text(FIRST_LESSON)
    assert not drive.problems, "focus was not visible:\n" + "\n".join(drive.problems)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_team_progress_by_keyboard(new_context: Callable[..., BrowserContext], capstone_world: CapstoneWorld,
                                   javascript: bool) -> None:
    team = f"/{SLUG}/capstone/teams/{capstone_world.ids['team']}"
    page = new_context(javascript=javascript, state=capstone_world.states["ada"]).new_page()
    drive = KeyboardDriver(page)

    page.goto(f"{team}/")
    drive.follow(main(page).get_by_role("link", name="See the team's progress"))
    expect(heading(page)).to_have_text("Team progress")
    # Whether Ada has completed the course depends on other tests sharing her (certificatekit completes it);
    # either way her row says so in words.
    expect(main(page).get_by_role("row", name="Ada Lovelace (you)")).to_contain_text(re.compile(r"\b(Yes|No)\b"))
    drive.follow(main(page).locator("table").get_by_role("link", name="Reflect", exact=True))
    expect(heading(page)).to_have_text("Reflect")
    # Back by the team's side navigation, which marks the progress page as current there.
    drive.follow(page.get_by_role("navigation", name="Team project stages").get_by_role("link", name="Team progress"))
    expect(page.get_by_role("navigation", name="Team project stages").get_by_role("link", name="Team progress")
           ).to_have_attribute("aria-current", "page")
    assert not drive.problems, "focus was not visible:\n" + "\n".join(drive.problems)
