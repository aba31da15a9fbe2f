"""Reports for facilitators (their department) and admins (every department): the programme dashboard, the
learner list with drill-down, and a CSV of every table on them.

Access is decided here once, by :func:`scope`: a learner gets 403, a facilitator sees only their own department
whatever the address asks for, an admin sees all or one department.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import iterate_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from ..accounts import ROLES, only_admin, role_problem
from ..numbers import row_id
from ..reports import charts, govuk_date
from ..reports.learner import learner_report
from ..reports.programme import Programme, programme
from ..storage import reports as queries
from ..storage.records import User
from ..storage.reports import LearnerFilter, Period
from . import passwords
from .context import form_data, page, service
from .courses import CourseRuntime
from .learning import require_user, runtime

log = logging.getLogger("masterclass")

PAGE_SIZE = 50
MAX_PAGE = 1_000_000
"""The highest page of the learner list asked for: past it, the offset would not fit a query."""
STATUSES = {"not_started": "Not yet started", "in_progress": "In progress", "completed": "Completed"}


class Scope:
    """Who is asking and what they may see: ``department`` None means every department."""

    def __init__(self, user: User, department: str | None) -> None:
        self.user = user
        self.department = department

    @property
    def admin(self) -> bool:
        return self.user.role == "admin"


def scope(request: Request) -> Scope:
    user = require_user(request)
    if user.role not in ("facilitator", "admin"):
        raise HTTPException(403, "Reports are for facilitators and admins. Ask an admin if you need access.")
    asked = request.query_params.get("department") or None
    if user.role == "facilitator":
        if asked is not None and asked != user.department:
            raise HTTPException(403, "You can see reports for your own department only.")
        return Scope(user, user.department)
    return Scope(user, asked)


# --- the filter form --------------------------------------------------------------------------------------------

def _date(request: Request, name: str, label: str, errors: list[dict[str, str]]) -> date | None:
    parts = [request.query_params.get(f"{name}-{part}", "").strip() for part in ("day", "month", "year")]
    if not any(parts):
        return None
    if not all(parts):
        missing = next(p for p, v in zip(("day", "month", "year"), parts, strict=True) if not v)
        errors.append({"field": f"{name}-{missing}", "text": f"{label} must include a {missing}"})
        return None
    try:
        # ASCII digits only: int() also reads "٣" and "²", and a year of twenty digits overflows date().
        if not all(part.isascii() and part.isdigit() and len(part) <= 4 for part in parts):
            raise ValueError
        day, month, year = (int(p) for p in parts)
        if year < 1000:
            raise ValueError
        return date(year, month, day)
    except ValueError:
        errors.append({"field": f"{name}-day", "text": f"{label} must be a real date, like 27 3 2026"})
        return None


def period(request: Request) -> tuple[Period, list[dict[str, str]]]:
    errors: list[dict[str, str]] = []
    since = _date(request, "from", "The start date", errors)
    until = _date(request, "to", "The end date", errors)
    if since and until and since > until:
        errors.append({"field": "to-day", "text": "The end date must be the same as or after the start date"})
    return (Period(since, until) if not errors else Period()), errors


def department_items(request: Request, sc: Scope) -> list[dict[str, Any]]:
    """The department choices for an admin's filter (a facilitator has no choice to make)."""
    items = [{"value": "", "text": "All departments", "selected": sc.department is None}]
    return items + [{"value": d, "text": d, "selected": d == sc.department}
                    for d in service(request).settings.departments]


def _filter_query(request: Request, scope_: Scope) -> dict[str, str]:
    """The filters as query parameters, to carry them to the CSV links and the other report pages."""
    keep = {k: v for k, v in request.query_params.items()
            if k.startswith(("from-", "to-")) or k in ("search", "status")}
    if scope_.admin and scope_.department:
        keep["department"] = scope_.department
    return {k: v for k, v in keep.items() if v}


def _qs(params: dict[str, str], **more: Any) -> str:
    merged = {**params, **{k: str(v) for k, v in more.items() if v not in (None, "")}}
    return ("?" + urlencode(merged)) if merged else ""


# --- pages ------------------------------------------------------------------------------------------------------

async def index(request: Request) -> Response:
    scope(request)
    courses = list(service(request).courses.values())
    if len(courses) == 1:
        return RedirectResponse(f"/reports/{courses[0].slug}/", status_code=302)
    return page(request, "reports/index.html", title="Reports", active="reports",
                courses=[rt.course for rt in courses])


def _programme(request: Request, rt: CourseRuntime, sc: Scope, when: Period) -> Programme:
    svc = service(request)
    return programme(svc.store, rt.course, department=sc.department, period=when,
                     baselines=svc.settings.measure_baselines)


async def dashboard(request: Request) -> Response:
    rt = runtime(request)
    sc = scope(request)
    when, errors = period(request)
    report = _programme(request, rt, sc, when)
    params = _filter_query(request, sc)
    return page(request, "reports/dashboard.html", title=f"Reports: {rt.course.title}", active="reports",
                course=rt.course, slug=rt.slug, report=report, scope=sc, charts=_charts(report),
                department_items=department_items(request, sc), query=request.query_params, errors=errors,
                csv_query=_qs(params), learners_query=_qs(params), fmt_percent=charts.percent,
                fmt_number=charts.number, fmt_date=govuk_date, status_code=400 if errors else 200)


def _charts(report: Programme) -> dict[str, Any]:
    """Each dashboard chart's SVG; the tables beside them carry the same figures."""
    p, n = charts.percent, charts.number
    out: dict[str, Any] = {}
    out["funnel"] = charts.bars(
        "chart-funnel", "Completion funnel by module",
        f"How many of the {n(report.enrolled)} enrolled learners completed each module.",
        [(c.label, [charts.Bar(c.label, c.count, f"{n(c.count)} ({p(c.percent)})")]) for c in report.funnel],
        maximum=report.enrolled)
    if report.stages:
        out["stages"] = charts.bars(
            "chart-stages", "Teams by capstone stage",
            f"How many of the {n(report.teams)} teams have completed each stage of the team project.",
            [(c.label, [charts.Bar(c.label, c.count, f"{n(c.count)} ({p(c.percent)})")]) for c in report.stages],
            maximum=report.teams)
    for index, measure in enumerate(report.measures):
        groups = []
        for i, before in enumerate(measure.before.counts):
            bars = [charts.Bar("Before", before.percent or 0.0, f"Before: {p(before.percent)}", 0)]
            if measure.after is not None:
                after = measure.after.counts[i]
                bars.append(charts.Bar("After", after.percent or 0.0, f"After: {p(after.percent)}", 1))
            groups.append((before.label, bars))
        out[f"measure-{index}"] = charts.bars(
            f"chart-measure-{index}", f"Answers to: {measure.question}",
            "The share of learners giving each answer at the start of the course"
            + (" and at the end." if measure.after is not None else "."),
            groups, maximum=100.0, legend=("Before", "After") if measure.after is not None else None)
    return out


async def learners(request: Request) -> Response:
    rt = runtime(request)
    sc = scope(request)
    when, errors = period(request)
    flt = _learner_filter(request, rt, sc, when)
    number = max(1, min(row_id(request.query_params.get("page", "1")) or 1, MAX_PAGE))
    rows, more = queries.learners(service(request).store, flt, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    params = _filter_query(request, sc)
    total_lessons = len(rt.course.lessons())
    return page(request, "reports/learners.html", title=f"Learners: {rt.course.title}", active="reports",
                course=rt.course, slug=rt.slug, scope=sc, rows=rows, total_lessons=total_lessons, page_number=number,
                previous_query=_qs(params, page=number - 1) if number > 1 else "",
                next_query=_qs(params, page=number + 1) if more else "", csv_query=_qs(params),
                dashboard_query=_qs({k: v for k, v in params.items() if k not in ("search", "status")}),
                status_items=[{"value": k, "text": v, "selected": flt.status == k} for k, v in STATUSES.items()],
                fmt_date=govuk_date, department_items=department_items(request, sc), query=request.query_params,
                errors=errors, status_code=400 if errors else 200)


def _learner_filter(request: Request, rt: CourseRuntime, sc: Scope, when: Period) -> LearnerFilter:
    status = request.query_params.get("status", "")
    return LearnerFilter(course_iri=rt.course.iri, department=sc.department,
                         search=request.query_params.get("search", "")[:200],
                         status=status if status in STATUSES else "", period=when)


def _person(request: Request, sc: Scope) -> User:
    found = queries.learner_by_public_id(service(request).store, request.path_params["learner"])
    # A learner of another department is "not found" to a facilitator: the address says nothing of who exists.
    if found is None or (sc.department is not None and found[1] != sc.department):
        raise HTTPException(404, "There is no learner at this address in the reports you can see.")
    person = service(request).store.user_by_id(found[0])
    assert person is not None
    return person


async def learner(request: Request) -> Response:
    rt = runtime(request)
    sc = scope(request)
    return _learner_page(request, rt, sc, _person(request, sc))


def _learner_page(request: Request, rt: CourseRuntime, sc: Scope, person: User, **context: Any) -> Response:
    report = learner_report(service(request).store, rt.course, person)  # the learner's own progress page's report
    return page(request, "reports/learner.html", title=f"{person.name}: {rt.course.title}", active="reports",
                course=rt.course, slug=rt.slug, person=person, report=report, viewer_is_learner=False,
                back_query=_qs(_filter_query(request, sc)), may_issue_link=passwords.may_issue(sc.user, person),
                role_items=[{"value": r, "text": r.capitalize(), "checked": r == person.role} for r in ROLES]
                if sc.admin else [], role_changed=request.query_params.get("changed") == "role", **context)


async def role(request: Request) -> Response:
    """An admin gives the account a role, from its page in the reports (``masterclass users role`` does the same)."""
    # The form first: who is asking, and what the account is now, are read after the body arrives, with no wait
    # between them and the change (an admin demoted, or the account changed, while the body was on its way).
    form = await form_data(request)
    rt = runtime(request)
    sc = scope(request)
    person = _person(request, sc)
    if not sc.admin:
        raise HTTPException(403, "Only an admin can change someone's role.")
    chosen = (form.get("role") or [""])[0]
    problem = role_problem(service(request).store, person, chosen)
    if problem is None and chosen != person.role and not service(request).store.set_role(person.id, chosen):
        problem = only_admin(person)  # after all: another admin was demoted meanwhile
    if problem:
        return _learner_page(request, rt, sc, person, errors=[{"field": "role", "text": problem}], status_code=422)
    if chosen != person.role:
        log.info("admin %s gave account %s the role %s (was %s)", sc.user.public_id, person.public_id, chosen,
                 person.role)
    params = {**_filter_query(request, sc), "changed": "role"}
    return RedirectResponse(f"/reports/{rt.slug}/learners/{person.public_id}{_qs(params)}", status_code=303)


async def password_link(request: Request) -> Response:
    """A link for the learner to set a new password, shown once to the facilitator or admin who asked for it."""
    await form_data(request)  # first: who is asking, and the account's role, are read once the body has come
    rt = runtime(request)
    sc = scope(request)
    person = _person(request, sc)
    if not passwords.may_issue(sc.user, person):
        raise HTTPException(403, "Only an admin can create a link to set a new password for a facilitator or an "
                                 "admin.")
    token = service(request).store.issue_password_link(person.id, issued_by=sc.user.id)
    log.info("%s %s issued a link to set a new password for account %s", sc.user.role, sc.user.public_id,
             person.public_id)
    return passwords.private(page(
        request, "reports/password_link.html", title=f"A link for {person.name} to set a new password",
        active="reports", course=rt.course, slug=rt.slug, person=person, link=passwords.link_for(request, token),
        back_query=_qs(_filter_query(request, sc))))


# --- CSV: the same figures as the pages -----------------------------------------------------------------------

def _csv(rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(rows)
    return out.getvalue()


def tables(report: Programme) -> dict[str, list[list[Any]]]:
    """Every dashboard table as rows, headings first: the CSV downloads and the tests read these."""
    def pct(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    out: dict[str, list[list[Any]]] = {
        "summary": [["measure", "value", "percent of enrolled"],
                    ["enrolled", report.enrolled, ""],
                    ["started", report.started, pct(report.started_percent)],
                    ["completed", report.completed, pct(report.completed_percent)],
                    ["median days to complete", "" if report.median_days is None else report.median_days, ""],
                    ["learning hours", f"{report.learning_seconds / 3600:.1f}", ""]],
        "departments": [["department", "enrolled", "started", "completed", "percent completed"]]
        + [[d.department, d.enrolled, d.started, d.completed, pct(d.completed_percent)] for d in report.departments],
        "funnel": [["module", "completed", "percent of enrolled"]]
        + [[c.label, c.count, pct(c.percent)] for c in report.funnel],
        "questions": [["question", "lesson", "module", "first attempts", "wrong first time", "percent wrong"]]
        + [[h.question.id, h.lesson_title, h.module_title, h.first_attempts, h.wrong, pct(h.percent)]
           for h in report.hard_questions],
        "stages": [["stage", "teams completed", "percent of teams"]]
        + [[c.label, c.count, pct(c.percent)] for c in report.stages],
        "outcomes": [["outcome", "published case studies", "percent"]]
        + [[c.label, c.count, pct(c.percent)] for c in report.outcomes],
        "measures": [["measure", "department", "when", "answer", "learners", "percent"]],
    }
    for measure in report.measures:
        whole = [("All", measure.before, measure.after)]
        rows = whole + [(d.department, d.before, d.after) for d in measure.departments]
        for dept, before, after in rows:
            for when, dist in (("before", before), ("after", after)):
                if dist is None:
                    continue
                for count in dist.counts:
                    out["measures"].append([measure.name, dept, when, count.label, count.count, pct(count.percent)])
    return out


async def dashboard_csv(request: Request) -> Response:
    rt = runtime(request)
    sc = scope(request)
    when, errors = period(request)
    if errors:
        raise HTTPException(400, errors[0]["text"])
    table = request.path_params["table"]
    found = tables(_programme(request, rt, sc, when)).get(table)
    if found is None:
        raise HTTPException(404, "There is no report table with that name.")
    return Response(_csv(found), media_type="text/csv; charset=utf-8", headers=_download(rt, table))


async def learners_csv(request: Request) -> Response:
    rt = runtime(request)
    sc = scope(request)
    when, errors = period(request)
    if errors:
        raise HTTPException(400, errors[0]["text"])
    flt = _learner_filter(request, rt, sc, when)
    total = len(rt.course.lessons())
    path = service(request).store.path

    def lines() -> Iterator[str]:
        yield _csv([["learner id", "name", "email", "department", "enrolled at", "last seen at",
                     "lessons completed", "percent of lessons", "completed at"]])
        for batch in queries.iter_learners(path, flt):
            yield _csv([[pid, _cell(name), _cell(email), _cell(dept), enrolled, seen or "", done,
                         f"{100.0 * done / total:.1f}" if total else "", completed or ""]
                        for pid, name, email, dept, enrolled, seen, done, completed in batch])

    async def body() -> AsyncIterator[str]:
        # The database work runs in a worker thread, batch by batch, so a long export never blocks other requests.
        async for chunk in iterate_in_threadpool(lines()):
            yield chunk

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers=_download(rt, "learners"))


def _cell(value: str) -> str:
    """Learner-typed text that a spreadsheet would run as a formula is prefixed with a quote (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _download(rt: CourseRuntime, table: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{rt.slug}-{table}.csv"', "Cache-Control": "no-store"}


routes = [
    Route("/reports", index),
    Route("/reports/", index),
    Route("/reports/{course}/", dashboard),
    Route("/reports/{course}/learners", learners),
    Route("/reports/{course}/learners.csv", learners_csv),
    Route("/reports/{course}/learners/{learner}", learner),
    Route("/reports/{course}/learners/{learner}/password-link", password_link, methods=["POST"]),
    Route("/reports/{course}/learners/{learner}/role", role, methods=["POST"]),
    Route("/reports/{course}/{table}.csv", dashboard_csv),
]
