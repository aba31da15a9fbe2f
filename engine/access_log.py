"""The service's access log: one line a request in the Common Log Format, written in batches.

uvicorn logs each response through the ``uvicorn.access`` logger. Its own handler and formatter copied each
record, looked up the status phrase and flushed standard output once a line: about a sixth of a served lesson
page's CPU (docs/performance.md, round 15). `AccessLog` takes the place of that handler. It writes the line
that log tools already read, from the record's arguments, and collects lines to write them together, like
nginx's ``access_log ... buffer= flush=``.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import sys
import time
from typing import IO, Any

FLUSH_AFTER = 0.2
"""Seconds a line may wait before it is written: on a quiet service, about as soon as a person looks."""

FLUSH_LINES = 256
"""Lines collected before they are written, whatever the time."""

SECRET_PATH = "/password/new/"  # noqa: S105 - a path, not a password
"""Where links to set a new password start (``engine.web.passwords``): the rest of such a path is left out of the
log."""


def redacted(path: str) -> str:
    """The path as logs may show it: a link to set a new password is a credential until it is used (decision
    0033), so its token is left out."""
    return SECRET_PATH + "..." if path.startswith(SECRET_PATH) else path

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class AccessLog(logging.Handler):
    """Writes ``uvicorn.access`` records as Common Log Format lines to a stream (standard output by default).

    A line waits at most `FLUSH_AFTER` seconds, or until `FLUSH_LINES` are waiting; what is left is written
    when the app shuts down (`flush_access_log`), or when logging does at exit. Off the event loop's thread each
    line is written at once.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__()
        self.stream = stream if stream is not None else sys.stdout
        self._lines: list[str] = []
        self._due: asyncio.TimerHandle | None = None
        self._second = -1
        self._stamp = ""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self._line(record))
            if len(self._lines) >= FLUSH_LINES:
                self.flush()
            elif self._due is None:
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:
                    self.flush()
                else:
                    self._due = loop.call_later(FLUSH_AFTER, self._flush_due)
        except Exception:
            self.handleError(record)

    def _flush_due(self) -> None:
        self._due = None
        self.acquire()
        try:
            self.flush()
        finally:
            self.release()

    def flush(self) -> None:
        if not self._lines:
            return
        text = "".join(self._lines)
        self._lines.clear()
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        self.acquire()
        try:
            self.flush()
            if self._due is not None:
                self._due.cancel()
                self._due = None
        finally:
            self.release()
            super().close()

    def _line(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            t = time.gmtime(second)
            self._stamp = (f"[{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
                           f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000]")
            self._second = second
        args = record.args
        # uvicorn's HTTP protocols log (client "host:port", method, quoted path and query, HTTP version, status).
        if isinstance(args, tuple) and len(args) == 5:
            client, method, path, version, status = args
            host = str(client).rpartition(":")[0] or "-"
            request = f"{method} {redacted(str(path))} HTTP/{version}"
            if '"' in request or "\\" in request:
                # As nginx does: a quote in the query cannot end the request line early for log readers.
                request = request.replace("\\", "\\x5C").replace('"', "\\x22")
            return f'{host} - - {self._stamp} "{request}" {status} -\n'
        return f"- - - {self._stamp} {record.getMessage()}\n"


def flush_access_log() -> None:
    """Write the access log's waiting lines: at the app's shutdown, when every request has been answered.

    Logging's own flush at exit does not run under uvicorn: after a graceful shutdown on SIGTERM or SIGINT it
    raises the signal again, and the process ends by the signal's default action.
    """
    for handler in logging.getLogger("uvicorn.access").handlers:
        handler.acquire()
        try:
            handler.flush()
        finally:
            handler.release()


def lean_log_records() -> None:
    """Stop the process's log records collecting what the service's log lines never show.

    The logging HOWTO's "Optimization": without the caller's frame, thread and process a record costs about half
    as much to make, and uvicorn makes one for every request.
    """
    logging._srcfile = None  # the documented switch for the caller's frame
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with `AccessLog` in place of its access handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["access"] = {"()": f"{__name__}.AccessLog"}
    return config
