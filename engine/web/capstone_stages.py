"""The capstone's stage pages: one page per stage, whose forms post back to it (plain POST, 303, or 422 with errors).

Every form names its ``action``; who may do what is checked by :mod:`engine.capstone.actions`.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from course.model import Stage

from ..capstone import actions, chart, rules
from ..capstone.actions import BadForm, NotAllowed, StaleDraft, TeamAction
from ..capstone.rules import Invalid
from ..numbers import row_id
from ..storage import capstone as db
from ..storage.records import User
from .capstone import capstone_runtime, first_values, open_team, team_context
from .context import form_data, page
from .courses import CourseRuntime
from .learning import acting, require_user

STALE = ("Someone else changed this draft since you opened it. Your changes are not saved: their version is shown "
         "below. Copy anything you need from your text, then save again")


def _stage(rt: CourseRuntime, request: Request) -> Stage:
    assert rt.course.capstone is not None
    stage = rt.course.capstone.stage(request.path_params["stage"])
    if stage is None:
        raise HTTPException(404, "There is no stage at this address.")
    return stage


def charts(records: rules.TeamRecords) -> list[dict[str, Any]]:
    """Each measure with its points, chart and description, for the chart partial."""
    out = []
    for n, measure in enumerate(records.measures):
        points = [m for m in records.measurements if m.measure_id == measure.id]
        out.append({"measure": measure, "points": points, "dom_id": f"chart-{n + 1}",
                    "svg": chart.svg(measure, points, f"chart-{n + 1}"),
                    "description": chart.describe(measure, points)})
    return out


def render_stage(request: Request, rt: CourseRuntime, team: db.Team, members: list[User], user: User, stage: Stage,
                 *, status_code: int = 200, **extra: Any) -> Response:
    context = team_context(request, rt, team, members, user)
    records: rules.TeamRecords = context["records"]
    state = next(s for s in context["stages"] if s.stage.id == stage.id)
    context.update(stage=stage, state=state, stage_url=f"{context['team_url']}/{stage.id}",
                   outcomes=rules.OUTCOMES, themes=rules.THEMES, charts=charts(records),
                   majority_needed=rules.needed_for_majority(len(members)),
                   mine=next((r for r in records.reflections if r.user_id == user.id), None),
                   missing=rules.missing_before(rt.course.capstone, records, "case_study")
                   if rt.course.capstone else [],
                   stale=None, user_id=user.id)
    context.update(extra)
    return page(request, f"capstone/stage_{stage.kind}.html", course_folder=rt.folder, status_code=status_code,
                title=f"{stage.title} – {team.name}", **context)


async def stage_page(request: Request) -> Response:
    rt = capstone_runtime(request)
    user = require_user(request)
    team, members = open_team(request, rt, user)
    return render_stage(request, rt, team, members, user, _stage(rt, request))


def _id(form: dict[str, list[str]], name: str) -> int:
    number = row_id((form.get(name) or [""])[0])
    if number is None:
        raise BadForm(f"The form has no {name}")
    return number


def _dispatch(action: TeamAction, kind: str, form: dict[str, list[str]]) -> str:
    """Run the posted action; return the fragment of the page to go back to."""
    name = (form.get("action") or [""])[0]
    if (kind, name) == ("ideas", "idea"):
        return f"idea-{actions.post_idea(action, form)}"
    if kind == "ideas" and name in ("comment", "vote", "withdraw"):
        idea_id = _id(form, "idea")
        if name == "comment":
            actions.comment(action, idea_id, form)
        elif name == "vote":
            actions.vote(action, idea_id, form)
        else:
            actions.withdraw(action, idea_id)
        return f"idea-{idea_id}"
    if (kind, name) == ("decision", "propose"):
        return f"decision-{actions.propose(action, form)}"
    if (kind, name) == ("decision", "confirm"):
        decision_id = _id(form, "decision")
        actions.confirm_decision(action, decision_id)
        return f"decision-{decision_id}"
    if (kind, name) == ("plan", "save"):
        actions.save_plan(action, form)
        return "plan"
    if (kind, name) == ("measurements", "measure"):
        actions.measure(action, form)
        return "measurements"
    if (kind, name) == ("reflection", "reflect"):
        actions.reflect(action, form)
        return "reflections"
    if (kind, name) == ("case_study", "save"):
        actions.save_case_study(action, form)
        return "case-study"
    if (kind, name) == ("case_study", "confirm"):
        actions.confirm_case_study(action, form)
        return "case-study"
    raise BadForm("This stage has no such action")


async def stage_post(request: Request) -> Response:
    rt = capstone_runtime(request)
    user = require_user(request)
    team, members = open_team(request, rt, user)
    stage = _stage(rt, request)
    form = await form_data(request)
    try:
        with acting(request, rt) as learner:
            anchor = _dispatch(TeamAction(learner, team), stage.kind, form)
    except Invalid as exc:
        return render_stage(request, rt, team, members, user, stage, status_code=422, errors=exc.errors,
                            form=first_values(form))
    except StaleDraft as exc:
        return render_stage(request, rt, team, members, user, stage, status_code=409,
                            errors=[{"field": "title", "text": STALE}], form=exc.typed, stale=exc.current)
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except BadForm as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse(f"/{rt.slug}/capstone/teams/{team.id}/{stage.id}#{anchor}", status_code=303)


async def hide(request: Request) -> Response:
    rt = capstone_runtime(request)
    user = require_user(request)
    team, members = open_team(request, rt, user)
    form = await form_data(request)
    assert rt.course.capstone is not None
    back = rt.course.capstone.stage((form.get("stage") or [""])[0])
    try:
        with acting(request, rt) as learner:
            actions.hide(TeamAction(learner, team), form)
    except Invalid as exc:
        if back is None:
            raise HTTPException(400, exc.errors[0]["text"]) from None
        return render_stage(request, rt, team, members, user, back, status_code=422, errors=exc.errors,
                            form=first_values(form))
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except BadForm as exc:
        raise HTTPException(400, str(exc)) from None
    target = f"/{rt.slug}/capstone/teams/{team.id}/" + (back.id if back else "")
    return RedirectResponse(target, status_code=303)


routes = [
    Route("/{course}/capstone/teams/{team}/hide", hide, methods=["POST"]),
    Route("/{course}/capstone/teams/{team}/{stage}", stage_page),
    Route("/{course}/capstone/teams/{team}/{stage}", stage_post, methods=["POST"]),
]
