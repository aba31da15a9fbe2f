"""Certificates for the browser tests: completing the Innovation Masterclass by request (a fast set-up), and one
shared certificate state for the page sweep.

The course needs the capstone, so the learners who complete it here are team A's members from capstonekit, whose
team completed every stage: Ada (a valid certificate) and Bob (a certificate an admin revoked). Cat is left for the
certificate journey, which completes the course itself.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import Browser, BrowserContext

from course import Course, build
from course.model import Checklist, Poll, Question, Reflection, Video
from engine.answers import poll_values

from .browserkit import COURSE, PASSWORD, SLUG
from .capstonekit import CapstoneWorld

REFLECTION = " ".join(["We", "tried", "a", "small", "change", "and", "measured", "what", "happened", "next."] * 6)
_course: Course | None = None


def course() -> Course:
    global _course
    if _course is None:
        result = build(COURSE)
        assert result.course is not None, [d.format() for d in result.diagnostics]
        _course = result.course
    return _course


def _form(block: object) -> dict[str, object]:
    """A right answer to each kind of block, as the form posts it."""
    if isinstance(block, Question):
        return {"choice": [str(i) for i in block.correct]}
    if isinstance(block, Poll):
        return {"choice": poll_values(block)[0]}
    if isinstance(block, Reflection):
        return {"text": REFLECTION}
    if isinstance(block, Checklist):
        return {"ticked": [str(i) for i in range(len(block.items))]}
    if isinstance(block, Video):
        return {"watched": "1"}
    raise AssertionError(f"no answer for {block}")


def complete_course(context: BrowserContext, *, leave_last: bool = False) -> str:
    """Open every lesson in order and answer every block rightly, through the real endpoints with the context's
    cookies. ``leave_last`` leaves the last lesson that opening completes unopened, for the browser to open;
    returns its path."""
    lessons = course().lessons()
    left = [lesson for lesson in lessons if lesson.complete_when == "viewed"][-1]
    last = f"/{SLUG}/{left.module}/{left.id}"
    token = ""
    for lesson in lessons:
        if leave_last and lesson is left:
            continue
        path = f"/{SLUG}/{lesson.module}/{lesson.id}"
        page = context.request.get(path)
        assert page.status == 200, f"{path} answered {page.status}"
        if not token:
            found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text())
            assert found, f"no CSRF token on {path}"
            token = found.group(1)
        for block in lesson.blocks:
            if not block.interactive:
                continue
            body = urlencode({"csrf_token": token, **_form(block)}, doseq=True)
            response = context.request.post(f"{path}/blocks/{block.id}", data=body, max_redirects=0, headers={
                "Content-Type": "application/x-www-form-urlencoded"})
            assert response.status == 303, f"{path} {block.id} answered {response.status}"
    return last


@dataclass
class CertificateWorld:
    states: dict[str, str] = field(default_factory=dict)
    """Saved cookies by person: ada (a valid certificate), bob (revoked), admin."""
    ids: dict[str, str] = field(default_factory=dict)
    """What the page types' paths are formatted with: ada_code, bob_code."""


def build_world(browser: Browser, server: str, db_path: Path, capstone: CapstoneWorld, folder: Path
                ) -> CertificateWorld:
    from engine.security import hash_password
    from engine.storage import certificates
    from engine.storage.db import Store

    world = CertificateWorld()
    for name in ("ada", "bob"):
        context = browser.new_context(base_url=server, storage_state=capstone.states[name])
        complete_course(context)
        assert "View and print your certificate" in context.request.get(f"/{SLUG}/").text()
        world.states[name] = capstone.states[name]
        context.close()

    store = Store(db_path)
    admin_email = f"admin-certificates-{os.getpid()}@example.gov.uk"
    store.create_user(name="Sam Admin", email=admin_email, department="Cabinet Office",
                      password_hash=hash_password(PASSWORD), role="admin")
    codes = {}
    for name in ("ada", "bob"):
        found = store.conn.execute(
            "SELECT c.code FROM certificates c JOIN users u ON u.id = c.user_id WHERE u.name LIKE ?",
            (name.capitalize() + " %",)).fetchone()
        assert found, f"{name} has no certificate"
        codes[name] = certificates.display(found[0])
    store.close()

    admin = browser.new_context(base_url=server)
    html = admin.request.get("/sign-in").text()
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert token
    signed_in = admin.request.post("/sign-in", form={"csrf_token": token.group(1), "email": admin_email,
                                                     "password": PASSWORD, "next": "/"}, max_redirects=0)
    assert signed_in.status == 303, signed_in.text()
    revoked = admin.request.post(f"/admin/certificates/{codes['bob']}/revoke", max_redirects=0, form={
        "csrf_token": token.group(1), "reason": "Completed on a shared account"})
    assert revoked.status == 303, revoked.text()
    path = folder / "admin.json"
    admin.storage_state(path=path)
    admin.close()
    world.states["admin"] = str(path)
    world.ids = {"ada_code": codes["ada"], "bob_code": codes["bob"]}
    return world
