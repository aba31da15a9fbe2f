"""My data: a learner downloads everything recorded about them, or deletes their account (UK GDPR)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .. import erasures
from ..storage import certificates, export
from .context import SESSION_COOKIE, cookie, form_data, json_dumps, page, service
from .learning import require_user


async def my_data(request: Request) -> Response:
    user = require_user(request)
    changed = request.query_params.get("changed")
    return page(request, "my_data.html", title="My data", active="my-data", account=user,
                password_changed=changed == "password", signed_out_elsewhere=changed == "sessions")


async def sign_out_elsewhere(request: Request) -> Response:
    """Sign out every other browser of the account: one left signed in on a shared or lost computer."""
    await form_data(request)  # first: the session is read once the form has come
    user = require_user(request)
    token = cookie(request, SESSION_COOKIE)
    assert token is not None  # require_user found its session
    service(request).store.end_other_sessions(user.id, token)
    return RedirectResponse("/my-data?changed=sessions", status_code=303)


async def download(request: Request) -> Response:
    user = require_user(request)
    store = service(request).store
    body = json_dumps({**export.user_data(store, user.id), "certificates": certificates.export_user(store, user.id)})
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": 'attachment; filename="my-masterclass-data.json"',
        "Cache-Control": "no-store",
    })


async def delete(request: Request) -> Response:
    user = require_user(request)
    form = await form_data(request)
    if form.get("confirm") != ["yes"]:
        errors = [{"field": "confirm", "text": "Select yes to confirm that you want to delete your account"}]
        return page(request, "my_data.html", title="My data", active="my-data", account=user, errors=errors,
                    status_code=422)
    svc = service(request)
    # Statements about the learner go too; those already sent to an external LRS are that LRS's to delete.
    erasures.erase(svc.store, user)
    response = RedirectResponse("/account-deleted", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def deleted(request: Request) -> Response:
    return page(request, "error.html", title="Your account has been deleted",
                message="We have deleted your account and everything recorded about your learning.",
                back_url="/", back_text="Go to the start page")


routes = [
    Route("/my-data", my_data),
    Route("/my-data/download", download),
    Route("/my-data/delete", delete, methods=["POST"]),
    Route("/my-data/sign-out-elsewhere", sign_out_elsewhere, methods=["POST"]),
    Route("/account-deleted", deleted),
]
