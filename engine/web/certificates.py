"""Certificate pages: the learner's printable certificate, public verification by code, and admin revocation."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .. import certificates
from ..dates import govuk_date
from ..security import RateLimiter
from ..storage import certificates as db
from ..storage.records import User
from .context import Service, client_address, form_data, page, service
from .learning import require_user, runtime

LOOKUP_FAILURES = 300
"""Unknown codes one address (an IPv6 /64) may try in 15 minutes; known codes do not count. As for sign-in
(``sign_in_attempts_per_address``), one address is often a whole department's: its employers checking
certificates share it, and their mistyped codes count together, so 30 would stop a busy office. 300 still stops a
script long before it matters: a code has 60 random bits, so finding one of even a million certificates takes
about 10^12 tries: some 100,000 years at this rate from one address."""
log = logging.getLogger("masterclass")
REASON_MAX = 500
CODE_HINT = "A code looks like MC-7K3P-Q9XD-2FHM"


def _limiter(svc: Service) -> RateLimiter:
    limiter = svc.extra.get("certificate_lookups")
    if limiter is None:
        limiter = svc.extra["certificate_lookups"] = RateLimiter(LOOKUP_FAILURES)
    return limiter


# --- the learner's certificate -------------------------------------------------------------------------------

async def learner_certificate(request: Request) -> Response:
    rt = runtime(request)
    user = require_user(request)
    svc = service(request)
    found = certificates.ensure(svc.store, svc.emitter, rt.course, user)
    settings = certificates.config(rt.course)
    course_url = f"/{rt.slug}/"
    if found is None:
        if not settings["enabled"]:
            message = "This course does not give a certificate."
        elif settings["requires_capstone"] or rt.course.completion_capstone:
            message = "You get your certificate when you complete the course and its team project."
        else:
            message = "You get your certificate when you complete the course."
        return page(request, "error.html", status_code=404, course_folder=rt.folder, lang=rt.course.language,
                    title="You do not have a certificate yet", message=message, back_url=course_url,
                    back_text=f"Go back to {rt.course.title}")
    return page(request, "certificates/certificate.html", course_folder=rt.folder, lang=rt.course.language,
                title=found.title if not found.revoked else "Your certificate was revoked",
                certificate=certificates.view(found, svc.settings.base_url), course_url=course_url)


# --- public verification -------------------------------------------------------------------------------------

def _lookup_page(request: Request, *, status_code: int = 200, code: str = "", not_found: str = "",
                 errors: list[dict[str, str]] | None = None) -> Response:
    return page(request, "certificates/lookup.html", status_code=status_code,
                title="No certificate has that code" if not_found else "Check a certificate",
                form={"code": code}, not_found=not_found, errors=errors or [])


async def lookup(request: Request) -> Response:
    """The form to type a code (a GET form, so it works from a link and with JavaScript off)."""
    if "code" not in request.query_params:
        return _lookup_page(request)
    typed = request.query_params["code"].strip()
    if not typed:
        error = "Enter the certificate's verification code"
    elif len(typed) > 64 or db.normalise(typed) is None:
        error = f"Enter the code as it is on the certificate. {CODE_HINT}"
    else:
        return RedirectResponse(f"/certificates/{db.display(db.normalise(typed) or '')}", status_code=303)
    return _lookup_page(request, status_code=422, code=typed[:64], errors=[{"field": "code", "text": error}])


async def verify(request: Request) -> Response:
    svc = service(request)
    typed = request.path_params["code"][:64]
    address = client_address(request)
    limiter = _limiter(svc)
    if limiter.blocked(address):
        raise HTTPException(429, "You have checked too many codes that do not exist. Wait 15 minutes, then try "
                                 "again.")
    code = db.normalise(typed)
    found = db.by_code(svc.store, code) if code else None
    if found is None:
        if limiter.fail(address):  # once a lockout, as sign-in's: enough for an operator to see a script
            log.warning("certificate checks from %s locked for 15 minutes after %d unknown codes",
                        address.removeprefix("ip:"), limiter.limit)
        return _lookup_page(request, status_code=404, not_found=typed)
    if typed != found.display_code:
        return RedirectResponse(f"/certificates/{found.display_code}", status_code=301)
    # Only what is printed on the certificate: confirming it must not tell a stranger anything more.
    return page(request, "certificates/verify.html",
                title="This certificate was revoked" if found.revoked else "This certificate is genuine",
                certificate=certificates.view(found, svc.settings.base_url))


# --- administration ------------------------------------------------------------------------------------------

def require_admin(request: Request) -> User:
    user = require_user(request)
    if user.role != "admin":
        raise HTTPException(403, "Only admins can manage certificates.")
    return user


def _found(request: Request) -> db.Certificate:
    code = db.normalise(request.path_params["code"][:64])
    found = db.by_code(service(request).store, code) if code else None
    if found is None:
        raise HTTPException(404, "No certificate has that code.")
    return found


async def admin_list(request: Request) -> Response:
    require_admin(request)
    svc = service(request)
    query = request.query_params.get("q", "").strip()[:200]
    rows = [{"certificate": certificates.view(c, svc.settings.base_url), "email": email,
             "url": f"/admin/certificates/{c.display_code}"} for c, email in db.search(svc.store, query)]
    return page(request, "certificates/admin.html", title="Certificates", rows=rows, query=query,
                form={"q": query}, active="certificates")


def _admin_page(request: Request, found: db.Certificate, *, status_code: int = 200, **extra: Any) -> Response:
    svc = service(request)
    owner = svc.store.user_by_id(found.user_id)
    return page(request, "certificates/admin_certificate.html", status_code=status_code,
                title=f"Certificate {found.display_code}", certificate=certificates.view(found, svc.settings.base_url),
                email=owner.email if owner else "", revoked_now=request.query_params.get("revoked") == "1",
                action=f"/admin/certificates/{found.display_code}/revoke", active="certificates", **extra)


async def admin_certificate(request: Request) -> Response:
    require_admin(request)
    return _admin_page(request, _found(request))


async def admin_revoke(request: Request) -> Response:
    admin = require_admin(request)
    form = await form_data(request)
    found = _found(request)
    reason = " ".join((form.get("reason") or [""])[0].split())
    if found.revoked:
        raise HTTPException(409, f"This certificate was already revoked on {govuk_date(found.revoked_at)}.")
    error = ("Enter why you are revoking this certificate" if not reason else
             f"The reason must be {REASON_MAX} characters or fewer" if len(reason) > REASON_MAX else "")
    if error:
        return _admin_page(request, found, status_code=422, errors=[{"field": "reason", "text": error}],
                           form={"reason": (form.get("reason") or [""])[0]})
    db.revoke(service(request).store, found.code, by=admin.email, reason=reason)
    return RedirectResponse(f"/admin/certificates/{quote(found.display_code)}?revoked=1", status_code=303)


routes = [
    Route("/certificates", lookup),
    Route("/certificates/{code}", verify),
    Route("/admin/certificates", admin_list),
    Route("/admin/certificates/{code}", admin_certificate),
    Route("/admin/certificates/{code}/revoke", admin_revoke, methods=["POST"]),
    Route("/{course}/certificate", learner_certificate),
]
