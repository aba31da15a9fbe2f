"""Routes that exist only in the authoring preview: live reload, problems in place, and author tools."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from course import Diagnostic

from .context import current_user, form_data, page, service
from .preview import Preview


def preview_of(request: Request) -> Preview:
    preview = service(request).preview
    if preview is None:
        raise HTTPException(404, "This page exists only in the authoring preview.")
    return preview


def problems_page(request: Request, source_file: str | None) -> Response | None:
    """In the preview, a page whose source has errors shows them instead of the lesson."""
    preview = service(request).preview
    if preview is None:
        return None
    problems = preview.problems_for(source_file)
    if not problems:
        return None
    return page(request, "preview_errors.html", title="This page has authoring errors",
                problems=[_with_source(preview.root, d) for d in problems])


def _with_source(root: Path, diagnostic: Diagnostic) -> dict[str, object]:
    """The problem with the lines around it, so the author sees the offending source."""
    try:
        lines = (root / diagnostic.path).read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        lines = []
    start = max(diagnostic.line - 2, 0)
    excerpt = [{"number": n + 1, "text": lines[n], "here": n + 1 == diagnostic.line}
               for n in range(start, min(diagnostic.line + 1, len(lines)))]
    return {"where": f"{diagnostic.path}:{diagnostic.line}:{diagnostic.col}", "severity": diagnostic.severity,
            "message": diagnostic.message, "excerpt": excerpt}


async def events(request: Request) -> Response:
    preview = preview_of(request)
    return StreamingResponse(preview.events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def reset(request: Request) -> Response:
    """Forget the preview learner's progress in the course, to try it again as a newcomer."""
    preview = preview_of(request)
    await form_data(request)
    user = current_user(request)
    if user is not None and preview.runtime is not None:
        service(request).store.delete_enrolment(user.id, preview.runtime.course.iri)
    back = request.headers.get("referer", "/")
    return RedirectResponse(back if back.startswith(str(request.base_url)) else "/", status_code=303)


async def lesson_json(request: Request) -> Response:
    """The compiled lesson with its IRIs, answers and feedback, for the xAPI-minded author."""
    preview = preview_of(request)
    runtime = preview.runtime
    if runtime is None:
        raise HTTPException(404, "The course has errors: fix them to see its lessons.")
    lesson = runtime.lessons.get((request.path_params["module"], request.path_params["lesson"]))
    if lesson is None:
        raise HTTPException(404, "There is no lesson at this address.")
    module = runtime.course.module(lesson.module)
    data = lesson.to_dict(with_html=False)
    data["activities"] = {
        "course": {"id": runtime.course.iri, "type": runtime.course.activity_type},
        "module": {"id": module.iri, "type": module.activity_type} if module else None,
        "lesson": {"id": lesson.iri, "type": lesson.activity_type},
        "blocks": [{"id": b.iri, "type": b.activity_type} for b in lesson.blocks if b.interactive],
    }
    return JSONResponse(data)


routes = [
    Route("/preview/events", events),
    Route("/preview/reset", reset, methods=["POST"]),
    Route("/preview/lessons/{module}/{lesson}.json", lesson_json),
]
