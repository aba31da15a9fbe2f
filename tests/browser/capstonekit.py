"""One set of capstone (team project) state, built over HTTP, shared by every capstone page type in the sweep.

Team A (Ada, Bob and Cat) goes through every stage and publishes its case study; team B (Dee alone) has an idea and
a draft case study; Fay is a facilitator of their department; Alan is an admin. Each person's cookies are saved for the sweep.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext

from .browserkit import PASSWORD, SLUG, register_by_request

CAPSTONE = f"/{SLUG}/capstone"


@dataclass
class CapstoneWorld:
    states: dict[str, str] = field(default_factory=dict)
    """Each person's saved cookies (Playwright storage state files), by first name."""
    ids: dict[str, str] = field(default_factory=dict)
    """What the page types' paths are formatted with: team, draft_team, code, case, ada_id (Ada's learner id) and
    pat_id (Pat's, the learner given links to set a new password)."""


class Person:
    """A browser context's own cookies, driven with plain requests (no page): fast set-up."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', self.get(f"{CAPSTONE}/"))
        assert match, "no CSRF token on the capstone page"
        self.token = match.group(1)

    def get(self, path: str) -> str:
        return self.context.request.get(path).text()

    def post(self, path: str, **form: str) -> str:
        """Post a form; return where the 303 goes."""
        response = self.context.request.post(path, form={"csrf_token": self.token, **form}, max_redirects=0)
        assert response.status == 303, f"{path} {form} answered {response.status}:\n{response.text()[:3000]}"
        return response.headers["location"]


def _number(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found"
    return match.group(1)


def build_world(browser: Browser, server: str, db_path: Path, folder: Path) -> CapstoneWorld:
    from engine.security import hash_password
    from engine.storage.db import Store

    world = CapstoneWorld()
    people: dict[str, Person] = {}
    for name in ("Ada Lovelace", "Bob Babbage", "Cat Hopper", "Dee Dijkstra"):
        context = browser.new_context(base_url=server)
        register_by_request(context, server, f"{name.split()[0].lower()}-capstone-{os.getpid()}@example.gov.uk",
                            name=name)
        people[name.split()[0].lower()] = Person(context)
    ada, bob, cat, dee = people["ada"], people["bob"], people["cat"], people["dee"]

    # Team A: every stage, and a published case study.
    team = _number(r"/teams/(\d+)/", ada.post(f"{CAPSTONE}/teams", name="Form Fixers", department="Cabinet Office"))
    code = _number(r"/capstone/join/([0-9A-Z]+)", ada.get(f"{CAPSTONE}/teams/{team}/"))
    bob.post(f"{CAPSTONE}/join", code=code)
    cat.post(f"{CAPSTONE}/join/{code}")
    stage = f"{CAPSTONE}/teams/{team}/"
    ideas = [_number(r"#idea-(\d+)", person.post(stage + "ideas", action="idea", title=title,
                                                 problem="People fill in the same boxes twice.",
                                                 change="Fill in what we already know."))
             for person, title in ((ada, "Pre-fill the form"), (bob, "One page guide"), (cat, "Drop the fax step"))]
    bob.post(stage + "ideas", action="comment", idea=ideas[0], body="Yes!\nWe could start with the address.")
    cat.post(stage + "ideas", action="vote", idea=ideas[0], vote="up")
    bob.post(stage + "ideas", action="vote", idea=ideas[0], vote="down")
    decision = _number(r"#decision-(\d+)", ada.post(stage + "agree", action="propose", ideas=ideas[0],
                                                    change="Pre-fill the address on form A1",
                                                    reason="Most votes, and easy to try"))
    bob.post(stage + "agree", action="confirm", decision=decision)
    cat.post(stage + "plan", action="save", hypothesis="Pre-filling the address saves time.",
             change="The address is pre-filled.", measure_1_name="Time to complete", measure_1_unit="minutes",
             measure_1_baseline="12", start_date="2026-03-02", review_date="2026-03-30")
    measure = _number(r'<option value="(\d+)"', bob.get(stage + "measure"))
    for day, value in (("2026-03-09", "10"), ("2026-03-16", "8.5"), ("2026-03-23", "9")):
        bob.post(stage + "measure", action="measure", measure=measure, taken_on=day, value=value,
                 note=f"Week of {day}")
    for person in (ada, bob, cat):
        person.post(stage + "reflect", action="reflect", worked="Quick to try.",
                    not_worked="Took a while to agree.", advice="Measure before you start.")
    draft = {"title": "Pre-filled forms", "problem": "Duplicate typing.", "change": "Pre-fill the address.",
             "results": "From 12 to 9 minutes.", "lessons": "Start small.", "recommend": "Yes.",
             "outcome": "worked", "theme": "Process and paperwork"}
    ada.post(stage + "share", action="save", version="0", **draft)
    ada.post(stage + "share", action="confirm", version="1")
    bob.post(stage + "share", action="confirm", version="1")
    case = _number(rf"/{SLUG}/gallery/(\d+)", ada.get(stage + "share"))

    # Team B: Dee alone, with an idea and a draft case study.
    draft_team = _number(r"/teams/(\d+)/", dee.post(f"{CAPSTONE}/teams", name="Queue Busters",
                                                    department="Cabinet Office"))
    dee.post(f"{CAPSTONE}/teams/{draft_team}/ideas", action="idea", title="Book a slot online",
             problem="People queue for an hour.", change="Let them book a time.")
    dee.post(f"{CAPSTONE}/teams/{draft_team}/share", action="save", version="0",
             **{**draft, "title": "Booked slots", "outcome": "partly"})

    # Fay facilitates the department: made in the database (no form makes facilitators), then signed in.
    store = Store(db_path)
    fay_email = f"fay-capstone-{os.getpid()}@example.gov.uk"
    store.create_user(name="Fay Facilitator", email=fay_email, department="Cabinet Office",
                      password_hash=hash_password(PASSWORD), role="facilitator")
    # Alan is an admin, who sees every department's reports.
    alan_email = f"alan-admin-{os.getpid()}@example.gov.uk"
    store.create_user(name="Alan Admin", email=alan_email, department="HM Treasury",
                      password_hash=hash_password(PASSWORD), role="admin")
    ada_user = store.user_by_email(f"ada-capstone-{os.getpid()}@example.gov.uk")
    # Pat, a learner of the department, is the one given links to set a new password: a link signs the account out
    # everywhere (decision 0033), so it cannot be anyone whose cookies the sweep keeps.
    pat = store.create_user(name="Pat Forgetful", email=f"pat-capstone-{os.getpid()}@example.gov.uk",
                            department="Cabinet Office", password_hash=hash_password(PASSWORD))
    store.close()
    signed = {}
    for name, email in (("fay", fay_email), ("alan", alan_email)):
        context = browser.new_context(base_url=server)
        token = _number(r'name="csrf_token" value="([0-9a-f]+)"', context.request.get("/sign-in").text())
        signed_in = context.request.post("/sign-in", form={"csrf_token": token, "email": email, "password": PASSWORD,
                                                           "next": "/"}, max_redirects=0)
        assert signed_in.status == 303, signed_in.text()
        signed[name] = context

    for name, context in [*((n, p.context) for n, p in people.items()), *signed.items()]:
        path = folder / f"{name}.json"
        context.storage_state(path=path)
        world.states[name] = str(path)
        context.close()
    world.ids = {"slug": SLUG, "team": team, "draft_team": draft_team, "code": code, "case": case,
                 "ada_id": ada_user.public_id if ada_user else "", "pat_id": pat.public_id}
    return world
