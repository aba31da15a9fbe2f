"""Pages that are not about one course: the accessibility statement."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .context import page, service


async def accessibility(request: Request) -> Response:
    return page(request, "accessibility.html", title="Accessibility statement",
                support_email=service(request).settings.support_email)


routes = [Route("/accessibility", accessibility)]
