"""Capstone pages: start or join a team, the team's overview, leaving, and the facilitator's team list.

URL space: ``/{course}/capstone/...``. Stage pages are in :mod:`.capstone_stages`, the gallery in
:mod:`.capstone_gallery`. Team content is for the team's members and facilitators only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..capstone import actions, rules
from ..capstone.actions import NotAllowed
from ..capstone.rules import Invalid
from ..numbers import row_id
from ..storage import capstone as db
from ..storage.records import User
from .context import form_data, page, service
from .courses import CourseRuntime
from .learning import acting, learner_for, require_user, runtime


def capstone_runtime(request: Request) -> CourseRuntime:
    rt = runtime(request)
    if rt.course.capstone is None:
        raise HTTPException(404, "This course has no team project.")
    return rt


def team_url(rt: CourseRuntime, team: db.Team) -> str:
    return f"/{rt.slug}/capstone/teams/{team.id}"


def open_team(request: Request, rt: CourseRuntime, user: User) -> tuple[db.Team, list[User]]:
    """The team in the URL, when this person may see it: a member, or a facilitator of its department."""
    raw = str(request.path_params.get("team", ""))
    number = row_id(raw)
    team = db.team(service(request).store, number) if number is not None else None
    if team is None or team.course_iri != rt.course.iri:
        raise HTTPException(404, "There is no team at this address.")
    members = db.members(service(request).store, team.id)
    if not actions.can_view(user, team, members):
        raise HTTPException(403, "Only the team's members and facilitators can see its work until it is published.")
    return team, members


def name_lookup(request: Request) -> Callable[[int | None], str]:
    store = service(request).store
    cache: dict[int, str] = {}

    def name_of(user_id: int | None) -> str:
        if user_id is None:
            return "A former member"
        if user_id not in cache:
            found = store.user_by_id(user_id)
            cache[user_id] = found.name if found else "A former member"
        return cache[user_id]

    return name_of


def first_values(form: dict[str, list[str]]) -> dict[str, Any]:
    return {key: values[0] if len(values) == 1 else values for key, values in form.items() if key != "csrf_token"}


def team_context(request: Request, rt: CourseRuntime, team: db.Team, members: list[User], user: User
                 ) -> dict[str, Any]:
    assert rt.course.capstone is not None
    records = rules.load(service(request).store, team)
    return {
        "course": rt.course, "capstone": rt.course.capstone, "team": team, "members": members,
        "records": records, "stages": rules.stage_states(rt.course.capstone, records),
        "is_member": user.id in {m.id for m in members}, "can_moderate": actions.can_moderate(user, team),
        "team_url": team_url(rt, team), "course_url": f"/{rt.slug}/", "gallery_url": f"/{rt.slug}/gallery/",
        "name_of": name_lookup(request), "lang": rt.course.language,
        # On the service's own address: the request's comes from its Host header, which the client chooses.
        "join_url": f"{service(request).settings.base_url}/{rt.slug}/capstone/join/{team.join_code}",
    }


# --- start, create and join -----------------------------------------------------------------

def _start_page(request: Request, rt: CourseRuntime, user: User, *, status_code: int = 200, **extra: Any
                ) -> Response:
    assert rt.course.capstone is not None
    chosen = extra.get("form", {}).get("department") or user.department
    items = [{"value": d, "text": d, "selected": d == chosen} for d in service(request).settings.departments]
    return page(request, "capstone/start.html", course_folder=rt.folder, status_code=status_code,
                title=rt.course.capstone.title, course=rt.course, capstone=rt.course.capstone,
                departments_items=items, course_url=f"/{rt.slug}/", gallery_url=f"/{rt.slug}/gallery/",
                is_facilitator=user.role in ("facilitator", "admin"), lang=rt.course.language, **extra)


async def capstone_home(request: Request) -> Response:
    rt = capstone_runtime(request)
    user = require_user(request)
    team = db.active_team(service(request).store, user.id, rt.course.iri)
    if team is not None:
        return RedirectResponse(team_url(rt, team) + "/", status_code=303)
    return _start_page(request, rt, user)


async def create_team(request: Request) -> Response:
    rt = capstone_runtime(request)
    form = await form_data(request)
    user = require_user(request)
    try:
        with acting(request, rt) as learner:
            team = actions.create_team(learner, form, service(request).settings.departments)
    except Invalid as exc:
        return _start_page(request, rt, user, status_code=422, errors=exc.errors, form=first_values(form))
    return RedirectResponse(team_url(rt, team) + "/", status_code=303)


async def join_by_code(request: Request) -> Response:
    rt = capstone_runtime(request)
    form = await form_data(request)
    user = require_user(request)
    code = (form.get("code") or [""])[0].strip()
    team = db.team_by_code(service(request).store, rt.course.iri, code) if code else None
    try:
        if team is None:
            raise Invalid([{"field": "code", "text": "Enter the join code a team member gave you, like KD3M8QZP"
                            if not code else "There is no team with that join code. Check it and try again"}])
        with acting(request, rt) as learner:
            actions.join_team(learner, team)
    except Invalid as exc:
        return _start_page(request, rt, user, status_code=422, errors=exc.errors, form=first_values(form))
    return RedirectResponse(team_url(rt, team) + "/", status_code=303)


async def join_link(request: Request) -> Response:
    rt = capstone_runtime(request)
    user = require_user(request)
    store = service(request).store
    team = db.team_by_code(store, rt.course.iri, request.path_params["code"])
    if team is None:
        raise HTTPException(404, "There is no team with this join link. Ask your team for a new one.")
    errors: list[dict[str, str]] = []
    if request.method == "POST":
        await form_data(request)
        try:
            with acting(request, rt) as learner:
                actions.join_team(learner, team, field_id="join")
        except Invalid as exc:
            errors = exc.errors
        else:
            return RedirectResponse(team_url(rt, team) + "/", status_code=303)
    members = db.members(store, team.id)
    assert rt.course.capstone is not None
    return page(request, "capstone/join.html", course_folder=rt.folder, status_code=422 if errors else 200,
                title=f"Join {team.name}", course=rt.course, capstone=rt.course.capstone, team=team,
                members=members, already=user.id in {m.id for m in members},
                current=db.active_team(store, user.id, rt.course.iri), errors=errors,
                course_url=f"/{rt.slug}/", lang=rt.course.language)


# --- a team -------------------------------------------------------------------------------

async def team_home(request: Request) -> Response:
    rt = capstone_runtime(request)
    user = require_user(request)
    team, members = open_team(request, rt, user)
    return page(request, "capstone/team.html", course_folder=rt.folder, title=team.name,
                **team_context(request, rt, team, members, user))


async def leave(request: Request) -> Response:
    rt = capstone_runtime(request)
    user = require_user(request)
    team, members = open_team(request, rt, user)
    await form_data(request)
    if user.id not in {m.id for m in members}:
        raise HTTPException(403, "You are not a member of this team.")
    actions.leave_team(learner_for(request, rt), team)
    return RedirectResponse(f"/{rt.slug}/capstone/", status_code=303)


# --- facilitators ---------------------------------------------------------------------------

def _facilitator(request: Request) -> tuple[CourseRuntime, User]:
    rt = capstone_runtime(request)
    user = require_user(request)
    if user.role not in ("facilitator", "admin"):
        raise HTTPException(403, "Only facilitators can manage teams.")
    return rt, user


def _facilitate_page(request: Request, rt: CourseRuntime, user: User, *, status_code: int = 200, **extra: Any
                     ) -> Response:
    store = service(request).store
    found = db.teams(store, rt.course.iri, None if user.role == "admin" else user.department)
    rows = [{"team": t, "members": db.members(store, t.id), "url": team_url(rt, t) + "/"} for t in found]
    chosen = str(extra.get("form", {}).get("team", ""))
    items = [{"value": "", "text": "Choose a team"}] + [
        {"value": str(t.id), "text": f"{t.name} ({t.department})", "selected": str(t.id) == chosen} for t in found]
    assert rt.course.capstone is not None
    return page(request, "capstone/facilitate.html", course_folder=rt.folder, status_code=status_code,
                title="Teams", course=rt.course, capstone=rt.course.capstone, rows=rows, team_items=items,
                course_url=f"/{rt.slug}/", lang=rt.course.language, **extra)


async def facilitate(request: Request) -> Response:
    rt, user = _facilitator(request)
    return _facilitate_page(request, rt, user, moved=bool(request.query_params.get("moved")))


async def move(request: Request) -> Response:
    rt, user = _facilitator(request)
    form = await form_data(request)
    store = service(request).store
    email = (form.get("email") or [""])[0].strip()
    raw_team = (form.get("team") or [""])[0]
    errors = []
    person = store.user_by_email(email) if email else None
    if person is None:
        errors.append({"field": "email", "text": "Enter the email address of someone with an account"
                       if email else "Enter the email address of the person to move"})
    team_id = row_id(raw_team)
    target = db.team(store, team_id) if team_id is not None else None
    if target is None or target.course_iri != rt.course.iri or not actions.can_moderate(user, target):
        errors.append({"field": "team", "text": "Select the team to move them to"})
    try:
        if errors:
            raise Invalid(errors)
        assert person is not None and target is not None
        with acting(request, rt) as learner:
            actions.move_member(learner, person, target)
    except Invalid as exc:
        return _facilitate_page(request, rt, user, status_code=422, errors=exc.errors, form=first_values(form))
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    return RedirectResponse(f"/{rt.slug}/capstone/facilitate?moved={person.public_id}", status_code=303)


def _routes() -> list[Route]:
    from . import capstone_gallery, capstone_stages

    base = "/{course}/capstone"
    return [
        Route(base + "/", capstone_home),
        Route(base + "/teams", create_team, methods=["POST"]),
        Route(base + "/join", join_by_code, methods=["POST"]),
        Route(base + "/join/{code}", join_link, methods=["GET", "POST"]),
        Route(base + "/facilitate", facilitate),
        Route(base + "/facilitate/move", move, methods=["POST"]),
        Route(base + "/teams/{team}/", team_home),
        Route(base + "/teams/{team}/leave", leave, methods=["POST"]),
        *capstone_stages.routes,
        *capstone_gallery.routes,
    ]


routes = _routes()
"""Every capstone and gallery route; mount them before :data:`engine.web.learning.routes`."""
