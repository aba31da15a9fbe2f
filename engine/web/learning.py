"""Learning pages: the course list, a course's home, lessons, block submissions and media."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from typing import Any, cast
from urllib.parse import quote

from markupsafe import escape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from course import Lesson
from course.model import Block, Checklist, Poll, Question, Reflection, Video
from course.output import MEDIA_SUFFIXES

from .. import answers, certificates, events, progress
from ..capstone import capstone_done, capstone_status
from ..security import csrf_token
from ..storage.records import Attempt, Enrolment, Records, User
from . import files, preview_routes
from .context import (
    SESSION_COOKIE,
    Redirect,
    Service,
    browser_id,
    cookie,
    current_user,
    form_data,
    page,
    page_context,
    service,
    wants_json,
)
from .courses import CourseRuntime
from .templating import Frame, Slots, inline_prompt, overridden, render


def runtime(request: Request) -> CourseRuntime:
    svc = service(request)
    found = svc.courses.get(request.path_params["course"])
    if found is None:
        if svc.preview is not None and svc.preview.runtime is None and svc.preview.problems_for(None):
            # The preview started on a course that has never built: its home page shows why, and reloads on save.
            raise Redirect("/")
        raise HTTPException(404, "There is no course at this address.")
    return found


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise Redirect("/sign-in?next=" + quote(request.url.path))
    return user


def lesson_url(rt: CourseRuntime, lesson: Lesson) -> str:
    return f"/{rt.slug}/{lesson.module}/{lesson.id}"


async def home(request: Request) -> Response:
    courses = list(service(request).courses.values())
    if not courses:
        problems = preview_routes.problems_page(request, None)
        if problems is not None:
            return problems
    if len(courses) == 1:
        return RedirectResponse(f"/{courses[0].slug}/", status_code=302)
    return page(request, "home.html", title="Courses", courses=[rt.course for rt in courses])


async def course_home(request: Request) -> Response:
    rt = runtime(request)
    user = require_user(request)
    problems = preview_routes.problems_page(request, None)
    if problems is not None:
        return problems
    store = service(request).store
    # Opening the course home enrols the learner: reports count them as enrolled, though not yet started.
    enrolment = learner_for(request, rt).enrolment
    records = store.records(enrolment.id)
    done = capstone_done(store, rt.course, user.id)
    state = progress.evaluate(rt.course, records, enrolment.last_lesson_iri, capstone_done=done)
    every = [lp for mp in state.modules for lp in mp.lessons]
    return page(request, "course.html", course_folder=rt.folder, title=rt.course.title, course=rt.course,
                progress=state, started=bool(records.views), lang=rt.course.language,
                completed_lessons=sum(lp.status == "completed" for lp in every), total_lessons=len(every),
                capstone=capstone_status(store, rt.course, user),
                certificate=certificates.ensure(store, service(request).emitter, rt.course, user),
                lesson_url=lambda lesson: lesson_url(rt, lesson))


def _find_lesson(rt: CourseRuntime, request: Request) -> Lesson:
    lesson = rt.lessons.get((request.path_params["module"], request.path_params["lesson"]))
    if lesson is None:
        raise HTTPException(404, "There is no lesson at this address.")
    return lesson


def _block_static(rt: CourseRuntime, lesson: Lesson, block: Block, index: int) -> dict[str, Any]:
    """What a block's state holds whoever is looking: worked out once per block (``CourseRuntime.statics``)."""
    kept = rt.statics.get(id(block))
    if kept is not None and kept[0] is block and kept[1] == index:
        return kept[2]
    dom_id = f"b-{block.id or index}"
    static: dict[str, Any] = {
        "dom_id": dom_id,
        "action": f"{lesson_url(rt, lesson)}/blocks/{block.id}#block-{block.id}",
        "legend_html": inline_prompt(block.prompt_html),
    }
    if isinstance(block, Question):
        static["max_attempts"] = block.max_attempts or rt.course.max_attempts
    elif isinstance(block, Poll):
        values = answers.poll_values(block)
        if block.scale:
            labels = block.scale.labels or values
            # A scale's labels are the author's text, where an option is HTML the compiler made: escaped, as the
            # template prints each choice as HTML.
            static["choices"] = [(v, escape(f"{v} – {label}" if block.scale.labels else v))
                                 for v, label in zip(values, labels, strict=True)]
        else:
            static["choices"] = [(v, o.html) for v, o in zip(values, block.options, strict=True)]
    rt.statics[id(block)] = (block, index, static)
    return static


def block_state(rt: CourseRuntime, lesson: Lesson, block: Block, records: Records, *, index: int,
                error: str | None = None, typed: Any = None, poll_counts: dict[str, int] | None = None
                ) -> dict[str, Any]:
    static = _block_static(rt, lesson, block, index)
    dom_id = static["dom_id"]
    state: dict[str, Any] = {**static, "error": error, "reveal": False}
    described = [] if static["legend_html"] else [f"{dom_id}-prompt"]
    if isinstance(block, Question):
        attempt = records.latest.get(block.iri)
        limit = static["max_attempts"]
        used = records.attempts.get(block.iri, 0)
        state.update(attempt=None if error else attempt, attempts=used,
                     exhausted=bool(limit and used >= limit and not (attempt and attempt.success)),
                     chosen=typed if typed is not None else (attempt.response if attempt else []))
        if block.hint_html:
            described.append(f"{dom_id}-hint")
        if block.multiple:
            described.append(f"{dom_id}-multi")
    elif isinstance(block, Poll):
        choices = static["choices"]
        mine = records.responses.get(block.iri)
        chosen = mine if isinstance(mine, list) else [mine] if mine is not None else []
        results = []
        if mine is not None and not error and poll_counts is not None:
            total = sum(poll_counts.values()) or 1
            results = [{"label": label, "count": poll_counts.get(v, 0), "mine": v in chosen,
                        "percent": round(100 * poll_counts.get(v, 0) / total)} for v, label in choices]
        state.update(chosen=typed or chosen, results=results)
    elif isinstance(block, Reflection):
        saved = records.responses.get(block.iri)
        state.update(text=typed if typed is not None else (saved or ""), saved=saved is not None and not error)
        described.append(f"{dom_id}-hint")
    elif isinstance(block, Checklist):
        ticked = records.responses.get(block.iri)
        state.update(ticked=ticked or [], saved=ticked is not None)
        described = [f"{dom_id}-prompt"] if block.prompt_html else []
    elif isinstance(block, Video):
        state.update(watched=records.responses.get(block.iri) == "watched")
    if error:
        described.append(f"{dom_id}-error")
    state["described_by"] = " ".join(described)
    return state


def _completion_hint(lesson: Lesson) -> str:
    return {
        "viewed": "Opening this lesson completes it.",
        "answered": "Answer every question and poll on this page to complete the lesson.",
        "passed": "Answer the questions on this page correctly to complete the lesson.",
    }[lesson.complete_when]


def render_lesson(request: Request, rt: CourseRuntime, lesson: Lesson, enrolment: Enrolment, *,
                  errors: dict[str, tuple[str, Any]] | None = None, status_code: int = 200) -> Response:
    svc = service(request)
    store = svc.store
    records = store.records(enrolment.id)
    state = progress.evaluate(rt.course, records, lesson.iri)
    errors = errors or {}
    user = current_user(request)
    framed = not errors and svc.preview is None and not overridden(rt.folder)
    module_progress = state.module_of(lesson)
    lesson_status = state.lesson(lesson).status
    status_texts = [STATUS_TEXTS[lp.status] for lp in module_progress.lessons]
    # A lesson the learner has answered nothing in shows every block as it is before any answer: the same page
    # for every such learner, but for the slots (``_from_frame`` keeps it whole).
    untouched = framed and user is not None and lesson.iri not in records.touched
    if untouched and user is not None:
        whole = rt.pages.get(_untouched_key(svc, user, lesson, lesson_status))
        if whole is not None:
            return HTMLResponse(whole.fill(_slot_values(svc, request, user, status_texts)), status_code=status_code)
    # The preview can show every answer and feedback text; a learner's page never can.
    reveal = svc.preview is not None and request.query_params.get("answers") == "1"
    states = {}
    for n, block in enumerate(lesson.blocks):
        error, typed = errors.get(block.id, (None, None))
        counts = store.poll_counts(block.iri) if isinstance(block, Poll) and block.iri in records.responses else None
        states[block.id or str(n)] = block_state(rt, lesson, block, records, index=n, error=error, typed=typed,
                                                 poll_counts=counts)
        states[block.id or str(n)]["reveal"] = reveal
    made: list[dict[str, Any]] = []

    def context() -> dict[str, Any]:
        """The template's context: a page put together from frames kept needs none of it (``_from_frame``)."""
        if not made:
            previous, following = rt.neighbours(lesson)
            # The summary links to the field: a reflection's textarea, or a question's first option.
            summary = [{"field": states[block_id]["dom_id"] + (
                "-text" if isinstance(lesson.block(block_id), Reflection) else "-0"), "text": message}
                for block_id, (message, _typed) in errors.items()]
            made.append(dict(
                title=lesson.title, course=rt.course, module=rt.course.module(lesson.module), lesson=lesson,
                segments=rt.segments[lesson.iri], states=states, module_progress=module_progress,
                lesson_status=lesson_status, status_texts=status_texts, completion_hint=_completion_hint(lesson),
                previous=previous, next=following, errors=summary, course_url=f"/{rt.slug}/",
                lesson_url=lambda target: lesson_url(rt, target), lang=rt.course.language,
                media_url=lambda path: f"/{rt.slug}/{path}",
            ))
        return made[0]

    if framed and user is not None:
        html = _from_frame(request, rt, lesson, user, context, states=states, status=lesson_status,
                           status_texts=status_texts, untouched=untouched)
        if html is not None:
            return HTMLResponse(html, status_code=status_code)
    return page(request, "lesson.html", course_folder=rt.folder, status_code=status_code, **context())


STATUS_TEXTS = {"completed": "Completed", "in_progress": "In progress", "not_started": "Not yet started",
                "locked": "Cannot start yet"}
"""A lesson's status in words, as the module's side navigation lists it."""
_STATUS_BYTES = {text: text.encode() for text in STATUS_TEXTS.values()}

SLOTS = Slots()
MAX_FRAMES = 8192
"""Frames kept per course: one per lesson and its own status, and one per block and shape of its state (which
answer is chosen, how many attempts); some hundreds in practice, at most about 30 MB."""
_USER_SLOTS = ("public_id", "name", "email", "department", "created_at")


def _from_frame(request: Request, rt: CourseRuntime, lesson: Lesson, user: User,
                context: Callable[[], dict[str, Any]], *, states: dict[str, dict[str, Any]], status: str,
                status_texts: list[str], untouched: bool = False) -> bytes | None:
    """The lesson page put together from frames rendered once, or None to render it in full.

    Rendering a whole lesson page through the GOV.UK template and macros costs milliseconds, yet apart from its
    blocks a page differs between learners only in the lesson's own status, which keys its frame, and in the
    statuses listed for the module, the learner's name and the CSRF token, which are slots (the statuses were
    part of the key once: a module of five lessons made up to 3^5 frames of each lesson, rendered afresh as
    learners' progress met each pattern). A block is likewise a frame per shape of its state,
    with slots for what is free-form (see ``_shape``). Only the theme's own templates are framed, because the
    tests check that the frames give the page ``lesson.html`` renders in full; a course theme may use anything.
    """
    svc = service(request)
    role, name = user.role, svc.settings.service_name
    frame = _frame(rt, ("page", lesson.iri, status, role, name), lambda: _render_page_frame(request, user, context()))
    if frame is None:
        return None
    values = _slot_values(svc, request, user, status_texts)
    # For a lesson with no answers (``untouched``), the page with its blocks in place, for the next such view.
    whole: dict[str, Frame | bytes] | None = {} if untouched else None
    for n, segment in enumerate(rt.segments[lesson.iri]):
        block = cast(Block | None, segment.get("block"))
        if block is None:
            continue
        state = states.get(block.id or str(n))  # as lesson.html looks it up
        free, shape = _shape(state)
        key = ("block", id(block), shape, role, name)
        try:
            block_frame = rt.pages.get(key)
        except TypeError:  # a state that cannot be a key: a frame for this request only
            block_frame = _render_block_frame(request, user, context, block, state, free)
            whole = None
        else:
            if block_frame is None:
                # The state with slots in it is made only to render a frame not yet kept.
                block_frame = _frame(rt, key, partial(_render_block_frame, request, user, context, block, state,
                                                      free))
        if block_frame is None:
            return None
        values[f"block.{n}"] = block_frame.fill({**values, **free} if free else values)
        if whole is not None:
            whole[f"block.{n}"] = block_frame.inlined(free) if free else block_frame
    if whole is not None:
        _keep(rt, _untouched_key(svc, user, lesson, status), frame.inlined(whole))
    return frame.fill(values)


def _untouched_key(svc: Service, user: User, lesson: Lesson, status: str) -> tuple[str, ...]:
    """The key of a lesson page kept whole, for learners who have answered nothing in it; the role and service
    name as in every frame's key (the header shows them)."""
    return ("untouched", lesson.iri, status, user.role, svc.settings.service_name)


def _slot_values(svc: Service, request: Request, user: User, status_texts: list[str]) -> dict[str, bytes]:
    """What a lesson page's own slots hold for this request: the form token, the learner's details, and the
    statuses of the module's lessons."""
    values = {"csrf_token": csrf_token(svc.secret, browser_id(request)).encode(),  # hex: no escaping
              **_user_values(user)}
    for n, text in enumerate(status_texts):
        values[_status_slot(n)] = _STATUS_BYTES[text]  # our own words: no escaping
    return values


_escaped_users: dict[int, tuple[User, dict[str, bytes]]] = {}


def _user_values(user: User) -> dict[str, bytes]:
    """The user's slot values, escaped once per user object (the store keeps one per signed-in session)."""
    kept = _escaped_users.get(id(user))
    if kept is not None and kept[0] is user:
        return kept[1]
    values = {"user." + field: str(escape(getattr(user, field))).encode() for field in _USER_SLOTS}
    if len(_escaped_users) >= 20_000:
        _escaped_users.clear()
    _escaped_users[id(user)] = (user, values)
    return values


def _frame(rt: CourseRuntime, key: tuple[Any, ...], make: Callable[[], Frame | None]) -> Frame | None:
    try:
        return rt.pages[key]
    except KeyError:
        pass
    frame = make()
    _keep(rt, key, frame)
    return frame


def _keep(rt: CourseRuntime, key: tuple[Any, ...], frame: Frame | None) -> None:
    if len(rt.pages) >= MAX_FRAMES:
        del rt.pages[next(iter(rt.pages))]  # the oldest
    rt.pages[key] = frame


def _stand_in(request: Request, user: User, context: dict[str, Any]) -> dict[str, Any]:
    """The page context with slots for the learner's name and details and the CSRF token."""
    base = page_context(request, **context)
    base.update(user=replace(user, id=0, **{field: SLOTS("user." + field) for field in _USER_SLOTS}),
                csrf_token=SLOTS("csrf_token"))
    return base


_SHARED_SLOTS = ("csrf_token", *(f"user.{field}" for field in _USER_SLOTS))


_STATUS_SLOTS = tuple(f"status.{n}" for n in range(64))


def _status_slot(n: int) -> str:
    """The slot of the status of the module's n-th lesson (names made once: every page view fills them)."""
    return _STATUS_SLOTS[n] if n < len(_STATUS_SLOTS) else f"status.{n}"


def _render_page_frame(request: Request, user: User, context: dict[str, Any]) -> Frame | None:
    segments = [{"html": SLOTS(f"block.{n}")} if "block" in segment else segment
                for n, segment in enumerate(context["segments"])]
    statuses = [_status_slot(n) for n in range(len(context["status_texts"]))]
    offered = {*_SHARED_SLOTS, *statuses,
               *(f"block.{n}" for n, segment in enumerate(context["segments"]) if "block" in segment)}
    html = render("lesson.html", _stand_in(request, user, {**context, "segments": segments,
                                                           "status_texts": [SLOTS(name) for name in statuses]}))
    return SLOTS.frame(html, dict.fromkeys(offered))


def _render_block_frame(request: Request, user: User, context: Callable[[], dict[str, Any]], block: Block,
                        state: dict[str, Any] | None, free: dict[str, bytes]) -> Frame | None:
    variables = dict(_stand_in(request, user, context()), block=block)
    if state is not None:
        variables["state"] = _slotted(state)
    html = render(f"blocks/_{block.type}.html", variables)
    return SLOTS.frame(html, {**dict.fromkeys(_SHARED_SLOTS), **free})


_STATIC_KEYS = frozenset({"dom_id", "action", "legend_html", "max_attempts", "choices"})
"""State from ``_block_static``, fixed per block."""


def _shape(state: dict[str, Any] | None) -> tuple[dict[str, bytes], tuple[Any, ...]]:
    """A block state's free-form values (escaped) by slot name, and the shape of the rest.

    Free-form: a reflection's text, the counts and shares of a poll's results, when an answer was given, and the
    counts of attempts (the latest one's number, and how many are used), which grow with every try and would
    otherwise make a frame per try. The rest (the answer chosen, whether it was right, an error) takes a few
    values per block, so it keys the frame; what ``_block_static`` gives is the same for every learner, and the
    key has the block already. A template may print a free-form value, never test it: the frame would keep the
    test's outcome for every learner.
    """
    if state is None:
        return {}, ()
    free: dict[str, bytes] = {}
    shape: list[Any] = []
    for name, value in state.items():
        if name in _STATIC_KEYS:
            continue
        kind = type(value)
        if name == "text" and kind is str:
            free["state.text"] = str(escape(value)).encode()
            shape.append(name)
        elif name == "attempts" and kind is int:
            free["state.attempts"] = str(value).encode()
            shape.append(name)
        elif value is None or kind in _PLAIN:
            shape.append((name, value))
        elif name == "attempt" and kind is Attempt:
            free["state.attempt.created_at"] = str(escape(value.created_at)).encode()
            free["state.attempt.attempt_no"] = str(value.attempt_no).encode()
            shape.append((name, value.block_iri, _frozen(value.response), value.score, value.success))
        elif name == "results" and kind is list:
            for n, row in enumerate(value):
                free[f"state.results.{n}.count"] = str(escape(row["count"])).encode()
                free[f"state.results.{n}.percent"] = str(escape(row["percent"])).encode()
                shape.append(_frozen({k: v for k, v in row.items() if k not in ("count", "percent")}))
            shape.append((name, len(value)))
        else:
            shape.append((name, _frozen(value)))
    return free, tuple(shape)


def _slotted(state: dict[str, Any]) -> dict[str, Any]:
    """The state with slots where ``_shape`` found free-form values, to render a frame from."""
    slotted = dict(state)
    text = state.get("text")
    if type(text) is str:
        slotted["text"] = SLOTS("state.text")
    if type(state.get("attempts")) is int:
        slotted["attempts"] = SLOTS("state.attempts")
    attempt = state.get("attempt")
    if type(attempt) is Attempt:
        slotted["attempt"] = replace(attempt, created_at=SLOTS("state.attempt.created_at"),
                                     attempt_no=SLOTS("state.attempt.attempt_no"))  # type: ignore[arg-type]  # printed
    results = state.get("results")
    if type(results) is list:
        slotted["results"] = [{**row, "count": SLOTS(f"state.results.{n}.count"),
                               "percent": SLOTS(f"state.results.{n}.percent")} for n, row in enumerate(results)]
    return slotted


_PLAIN = frozenset({str, bool, int, float})


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        frozen = tuple(value)
        try:
            hash(frozen)  # what a state holds is mostly a few numbers or words: nothing more to do
        except TypeError:
            return tuple(_frozen(v) for v in value)
        return frozen
    if isinstance(value, dict):
        return tuple((k, _frozen(v)) for k, v in value.items())
    return value


def learner_for(request: Request, rt: CourseRuntime) -> events.Learner:
    """The signed-in learner in this course, enrolled on first use (with its statements)."""
    user = require_user(request)
    svc = service(request)
    enrolment, new = svc.store.enrol(user.id, rt.course.iri)
    learner = events.Learner(svc.store, svc.emitter, rt.course, user, enrolment)
    if new:
        events.enrolled(learner)
    events.session_started(learner, cookie(request, SESSION_COOKIE))
    return learner


@contextmanager
def acting(request: Request, rt: CourseRuntime) -> Iterator[events.Learner]:
    """``with acting(request, rt) as learner:``, for a form whose action may be refused (``Invalid``,
    ``NotAllowed``): the learner's enrolment on first use (``learner_for``) and the action are one transaction, so
    a refused form enrols nobody and sends no statement."""
    with service(request).store.transaction():
        yield learner_for(request, rt)


def _open_lesson(request: Request) -> tuple[CourseRuntime, Lesson, events.Learner]:
    rt = runtime(request)
    lesson = _find_lesson(rt, request)
    learner = learner_for(request, rt)
    store = learner.store
    locking = rt.locking and service(request).preview is None
    state = progress.evaluate(rt.course, store.records(learner.enrolment.id)) if locking else None
    if state is not None and progress.is_locked(state, lesson):
        module = rt.course.module(lesson.module)
        needed = ", ".join(m.title for m in rt.course.modules if module and m.id in module.requires)
        raise HTTPException(403, f"You cannot start this module yet. First complete: {needed}.")
    return rt, lesson, learner


async def lesson_page(request: Request) -> Response:
    rt, lesson, learner = _open_lesson(request)
    problems = preview_routes.problems_page(request, lesson.file)
    if problems is not None:
        return problems
    events.lesson_viewed(learner, lesson, cookie(request, SESSION_COOKIE))
    return render_lesson(request, rt, lesson, learner.enrolment)


async def submit_block(request: Request) -> Response:
    form = await form_data(request)  # first: a forged form must not enrol the learner (``learner_for``)
    rt, lesson, learner = _open_lesson(request)
    enrolment = learner.enrolment
    block = lesson.block(request.path_params["block"])
    if block is None or not block.interactive:
        raise HTTPException(404, "There is no such question on this page.")
    store = service(request).store
    try:
        outcome = answers.submit(learner, lesson=lesson, block=block, form=form)
    except answers.BadSubmission as exc:
        raise HTTPException(400, f"That answer could not be accepted: {exc.message}.") from None
    if wants_json(request):
        records = store.records(enrolment.id)
        index = lesson.blocks.index(block)
        counts = store.poll_counts(block.iri) if isinstance(block, Poll) else None
        state = block_state(rt, lesson, block, records, index=index, error=outcome.error, typed=outcome.typed,
                            poll_counts=counts)
        fragment = page(request, f"blocks/_{block.type}.html", course_folder=rt.folder, block=block, state=state,
                        lang=rt.course.language, media_url=lambda path: f"/{rt.slug}/{path}")
        lesson_state = progress.evaluate(rt.course, records).lesson(lesson).status
        return JSONResponse({"ok": outcome.ok, "error": outcome.error, "html": bytes(fragment.body).decode(),
                             "lesson_status": lesson_state}, status_code=200 if outcome.ok else 422)
    if not outcome.ok:
        return render_lesson(request, rt, lesson, enrolment, errors={block.id: (outcome.error or "", outcome.typed)},
                             status_code=422)
    return RedirectResponse(f"{lesson_url(rt, lesson)}#block-{block.id}", status_code=303)


VIDEO_EVENTS = {"played": ("time",), "paused": ("time",), "seeked": ("from", "to")}


async def video_event(request: Request) -> Response:
    """The video player's events, sent by the page's script (JavaScript only; without it, "Mark as watched")."""
    await form_data(request)  # first, as in submit_block
    _rt, lesson, learner = _open_lesson(request)
    block = lesson.block(request.path_params["block"])
    if not isinstance(block, Video):
        raise HTTPException(404, "There is no such video on this page.")
    fields = VIDEO_EVENTS.get(request.query_params.get("event", ""))
    if fields is None:
        raise HTTPException(400, "event must be played, paused or seeked")
    data: dict[str, float] = {}
    for name in (*fields, "length", "progress"):
        raw = request.query_params.get(name)
        if raw is None:
            if name in fields:
                raise HTTPException(400, f"{name} is required")
            continue
        try:
            value = float(raw)
        except ValueError:
            raise HTTPException(400, f"{name} must be a number") from None
        if not 0 <= value < 1e7:
            raise HTTPException(400, f"{name} is out of range")
        data[name] = value
    events.video_event(learner, lesson, block, request.query_params["event"], data)
    return Response(status_code=204)


async def media(request: Request) -> Response:
    rt = runtime(request)
    base = (rt.folder / "media").resolve()
    try:
        target = (base / request.path_params["path"]).resolve()
        found = target.is_relative_to(base) and target.is_file() and target.suffix.lower() in MEDIA_SUFFIXES
    except (ValueError, OSError):  # a NUL in the name, a name too long for the file system
        found = False
    if not found:
        raise HTTPException(404, "There is no file at this address.")
    return files.ServedFile(target, headers={"Cache-Control": "public, max-age=3600"})


def _course_root(request: Request) -> Response:
    return RedirectResponse(f"/{request.path_params['course']}/", status_code=308)


async def course_root(request: Request) -> Response:
    runtime(request)
    return _course_root(request)


routes = [
    Route("/", home),
    Route("/{course}/", course_home),
    Route("/{course}", course_root),
    Route("/{course}/media/{path:path}", media),
    Route("/{course}/{module}/{lesson}", lesson_page),
    Route("/{course}/{module}/{lesson}/blocks/{block}", submit_block, methods=["POST"]),
    Route("/{course}/{module}/{lesson}/blocks/{block}/video-events", video_event, methods=["POST"]),
]
