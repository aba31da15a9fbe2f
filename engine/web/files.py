"""Files served whole or in part, with the service's own answer to a Range that no part of the file can meet.

Starlette's FileResponse answers a Range it cannot serve with its own plain-text responses: 416 for a range past
the end, and 400 for one it cannot read (another unit, ``bytes=abc``, ``bytes=5-1``). RFC 9110 asks otherwise:
- a range unit the server does not understand MUST be ignored (section 14.2), and a ranges-specifier that is
  invalid (bad syntax, a last-pos before its first-pos: 14.1.1, 14.1.2) MAY be ignored or rejected. We ignore
  both and send the whole file (200), as a Range header never was there: a client that sent nonsense still gets
  what it asked for, and no 400 exists for it in HTTP's range rules.
- a valid Range none of whose ranges the file can meet (every first-pos at or past its length, or only zero
  suffix-lengths) is a 416 with ``Content-Range: bytes */<length>`` (15.5.17, 14.4); here it is the service's
  error page, or JSON to a client that asks for it.
- ranges the file cannot meet among some it can are left out: the rest is served (206). Starlette would send
  416 for the whole request.
"""

from __future__ import annotations

import os
import re

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, PathLike, StaticFiles
from starlette.types import Receive, Scope, Send

RANGE_SPEC = re.compile(r"([0-9]+)-([0-9]*)|-([0-9]+)")
"""One range-spec of the bytes unit (RFC 9110 14.1.2): an int-range or a suffix-range."""
MAX_DIGITS = 19
"""Digits read of a position: more are a number past any file (and past what ``int`` reads from a string)."""
NOT_SATISFIABLE = "No part of the file is at the place asked for. Ask for a part within it, or for the whole file."


def _position(digits: str) -> int:
    return int(digits) if len(digits) <= MAX_DIGITS else 10**MAX_DIGITS


def byte_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """The ranges of a Range header a file of ``size`` bytes can meet, as (first, last) byte positions; None
    when the header is to be ignored (another unit, or not a valid ranges-specifier), [] when it meets none."""
    unit, equals, specs = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    ranges: list[tuple[int, int]] = []
    named = False
    for part in specs.split(","):
        part = part.strip(" \t")
        if not part:
            continue  # an empty list element is allowed (RFC 9110 5.6.1)
        match = RANGE_SPEC.fullmatch(part)
        if match is None:
            return None
        named = True
        first, last, suffix = match.groups()
        if suffix is not None:
            length = _position(suffix)
            if length > 0 and size == 0:
                return None  # met by the empty file as a whole (14.1.3), which no Content-Range can name: 200
            if length > 0:
                ranges.append((max(size - length, 0), size - 1))
        else:
            start = _position(first)
            end = _position(last) if last else None
            if end is not None and end < start:
                return None  # invalid (14.1.2)
            if start < size:
                ranges.append((start, size - 1 if end is None else min(end, size - 1)))
    return ranges if named else None


class ServedFile(FileResponse):
    """A FileResponse that meets a Range as RFC 9110 asks (see the module's docstring)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = Headers(scope=scope).get("range") if scope["type"] == "http" else None
        # FileResponse looks at a Range only in a GET or HEAD answered 200; elsewhere it is not ours to judge.
        if header is not None and self.status_code == 200 and scope["method"] in ("GET", "HEAD"):
            scope = await self._judged(scope, header)
        await super().__call__(scope, receive, send)

    async def _judged(self, scope: Scope, header: str) -> Scope:
        """The scope with the Range FileResponse is to serve: the ranges the file meets, or none."""
        if self.stat_result is None:
            self.stat_result = await anyio.to_thread.run_sync(os.stat, self.path)
            self.set_stat_headers(self.stat_result)
        if_range = Headers(scope=scope).get("if-range")
        if if_range is not None and not self._should_use_range(if_range):
            return scope  # the file changed since: FileResponse sends it whole, whatever the Range
        size = self.stat_result.st_size
        ranges = byte_ranges(header, size)
        if ranges == []:
            raise HTTPException(416, NOT_SATISFIABLE, headers={"Content-Range": f"bytes */{size}"})
        headers = [(name, value) for name, value in scope["headers"] if name != b"range"]
        if ranges is not None:
            headers.append((b"range", ("bytes=" + ",".join(f"{a}-{b}" for a, b in ranges)).encode("latin-1")))
        return {**scope, "headers": headers}


class StaticFolder(StaticFiles):
    """Starlette's StaticFiles, its files served by ``ServedFile``."""

    def file_response(self, full_path: PathLike, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = ServedFile(full_path, status_code=status_code, stat_result=stat_result)
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response
