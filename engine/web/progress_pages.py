"""Progress pages: the signed-in learner's "My progress", and a capstone team's progress.

The figures come from :mod:`engine.reports.learner`, which the facilitators' per-learner drill-down uses too.
Viewing either page records nothing (no enrolment, no view, no statement): looking is not learning.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..reports.learner import learner_report, team_report
from .capstone import capstone_runtime, open_team
from .context import page, service
from .learning import require_user, runtime


async def my_progress(request: Request) -> Response:
    rt = runtime(request)
    user = require_user(request)
    report = learner_report(service(request).store, rt.course, user)
    return page(request, "reports/my_progress.html", course_folder=rt.folder,
                title=f"Your progress – {rt.course.title}", course=rt.course, report=report, viewer_is_learner=True,
                course_url=f"/{rt.slug}/", lang=rt.course.language)


async def team_progress(request: Request) -> Response:
    rt = capstone_runtime(request)
    user = require_user(request)
    # The team's own access rule: its members, facilitators of its department, and admins (403 otherwise).
    team, _members = open_team(request, rt, user)
    report = team_report(service(request).store, rt.course, team)
    return page(request, "capstone/team_progress.html", course_folder=rt.folder, title=f"Progress – {team.name}",
                course=rt.course, capstone=rt.course.capstone, team=team, report=report, stages=report.stages,
                team_url=report.team_url, gallery_url=f"/{rt.slug}/gallery/", course_url=f"/{rt.slug}/",
                team_page="progress", viewer_id=user.id, lang=rt.course.language)


routes = [
    Route("/{course}/progress", my_progress),
    # Before the capstone's routes, whose /teams/{team}/{stage} would take "progress" for a stage id (the
    # compiler refuses a stage with that id).
    Route("/{course}/capstone/teams/{team}/progress", team_progress),
]
"""Mount before :data:`engine.web.capstone.routes` and :data:`engine.web.learning.routes`."""
