"""The gallery: every published case study across departments, searchable and filterable, with kudos."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..capstone import actions, rules
from ..numbers import row_id
from ..storage import capstone as db
from .capstone import capstone_runtime, name_lookup
from .capstone_stages import charts
from .context import form_data, page, service
from .learning import learner_for, require_user


async def gallery(request: Request) -> Response:
    rt = capstone_runtime(request)
    require_user(request)
    params = request.query_params
    query = {"q": params.get("q", "")[:200], "department": params.get("department", ""),
             "outcome": params.get("outcome", ""), "theme": params.get("theme", "")}
    store = service(request).store
    found = db.gallery(store, rt.course.iri, text=query["q"], department=query["department"],
                       outcome=query["outcome"] if query["outcome"] in rules.OUTCOMES else "",
                       theme=query["theme"])
    departments = sorted({t.department for t in db.teams(store, rt.course.iri)} | set(
        service(request).settings.departments))

    def items(values: list[tuple[str, str]], chosen: str, everything: str) -> list[dict[str, object]]:
        first: dict[str, object] = {"value": "", "text": everything}
        return [first] + [{"value": v, "text": t, "selected": v == chosen}
                                                       for v, t in values]

    results = [{"case": case, "team": team, "kudos": len(db.kudos(store, case.id)),
                "url": f"/{rt.slug}/gallery/{case.id}"} for case, team in found]
    assert rt.course.capstone is not None
    return page(request, "capstone/gallery.html", course_folder=rt.folder, title="Case study gallery",
                course=rt.course, capstone=rt.course.capstone, results=results, query=query,
                outcomes=rules.OUTCOMES, course_url=f"/{rt.slug}/", lang=rt.course.language,
                department_items=items([(d, d) for d in departments], query["department"], "All departments"),
                outcome_items=items(list(rules.OUTCOMES.items()), query["outcome"], "Any outcome"),
                theme_items=items([(t, t) for t in rules.THEMES], query["theme"], "All themes"))


def _published(request: Request) -> tuple[db.CaseStudy, db.Team]:
    rt = capstone_runtime(request)
    raw = str(request.path_params["case"])
    store = service(request).store
    number = row_id(raw)
    case = db.case_study_by_id(store, number) if number is not None else None
    team = db.team(store, case.team_id) if case else None
    if case is None or team is None or team.course_iri != rt.course.iri or case.status != "published" \
            or case.hidden_at:
        raise HTTPException(404, "There is no published case study at this address.")
    return case, team


async def case_page(request: Request) -> Response:
    rt = capstone_runtime(request)
    user = require_user(request)
    case, team = _published(request)
    store = service(request).store
    records = rules.load(store, team)
    given = db.kudos(store, case.id)
    assert rt.course.capstone is not None
    return page(request, "capstone/gallery_case.html", course_folder=rt.folder, title=case.title,
                course=rt.course, capstone=rt.course.capstone, case=case, team=team, records=records,
                ideas=[i for i in records.ideas if not i.hidden_at], charts=charts(records),
                outcomes=rules.OUTCOMES, kudos=len(given), gave_kudos=user.id in given,
                name_of=name_lookup(request), gallery_url=f"/{rt.slug}/gallery/",
                case_url=f"/{rt.slug}/gallery/{case.id}", course_url=f"/{rt.slug}/", lang=rt.course.language)


async def kudos(request: Request) -> Response:
    rt = capstone_runtime(request)
    require_user(request)
    case, team = _published(request)
    await form_data(request)
    actions.give_kudos(learner_for(request, rt), case, team)
    return RedirectResponse(f"/{rt.slug}/gallery/{case.id}#kudos", status_code=303)


routes = [
    Route("/{course}/gallery/", gallery),
    Route("/{course}/gallery/{case}", case_page),
    Route("/{course}/gallery/{case}/kudos", kudos, methods=["POST"]),
]
