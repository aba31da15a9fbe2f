"""The ``masterclass`` command: one click group, a thin layer over the library."""

from __future__ import annotations

import dataclasses
import gc
import json
import secrets
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from course import Builder, BuildResult, Diagnostic, write_compiled
from course.output import read_lesson

from .cli_support import CONFIG_FILE, Commands, Stopped, open_store, stopped_by

if TYPE_CHECKING:
    from .settings import Settings

SERVE_LOOP = "asyncio"
"""asyncio's own event loop, not uvloop: under overload uvloop accepts one new connection per turn of a busy loop,
so late connections wait seconds in the kernel's queue (bench/runtime_bench.py: lesson p99 at 200 clients 15 s on
uvloop, 0.5 s on asyncio, for about 5% less throughput)."""


def serve_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run's options for `masterclass serve`; the runtime benchmark runs its floor with the same ones."""
    from .access_log import lean_log_records, log_config

    lean_log_records()
    # Behind the proxies named in ``trusted_proxies``, uvicorn takes the learner's address from their
    # X-Forwarded-For; with none named, it believes no such header (anyone could write one).
    proxies = list(settings.trusted_proxies)
    return {"access_log": settings.access_log, "log_config": log_config(), "log_level": "info",
            "proxy_headers": bool(proxies), "forwarded_allow_ips": ",".join(proxies) or None,
            "timeout_graceful_shutdown": 30, "loop": SERVE_LOOP}


def course_dirs(path: str | None) -> list[Path]:
    """The course folders a command acts on: PATH itself, or every course under it."""
    base = Path(path) if path else Path("content") if not Path("course.yaml").exists() else Path(".")
    if (base / "course.yaml").exists() or not base.is_dir():
        return [base]
    found = sorted(p for p in base.iterdir() if (p / "course.yaml").is_file())
    return found or [base]


class _Bar:
    """A progress bar on a terminal; nothing elsewhere, so logs stay clean."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < 50 or (done % 25 and done != total):
            return
        width = 30
        filled = width * done // total
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        self.shown = True
        if done == total:
            sys.stderr.write("\r" + " " * (len(self.label) + width + 20) + "\r")


def _report(result: BuildResult, where: Path, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps({
            "course": str(where),
            "ok": result.ok,
            "summary": result.summary(),
            "diagnostics": [d.to_dict() for d in result.diagnostics],
        }, ensure_ascii=False))
        return
    for diagnostic in result.diagnostics:
        click.echo(diagnostic.format())


def with_address_check(result: BuildResult, where: Path) -> BuildResult:
    """``result`` with an error at the top of course.yaml when `masterclass serve` would refuse the course for its
    address, the course folder's name (one of the service's own paths, or one a web address cannot carry): the
    same check, ``courses.address_problem``, against the same paths, ``app.reserved_addresses``. In the command,
    not the compiler: the service's paths are the engine's, which ``course`` knows nothing of."""
    from .web.app import reserved_addresses
    from .web.courses import address_problem

    problem = address_problem(where, where.resolve().name, reserved_addresses())  # the slug, as the compiler's
    if not problem:
        return result
    error = Diagnostic("course.yaml", 1, 1, "error", f"`masterclass serve` would refuse this course: {problem}")
    return dataclasses.replace(result, diagnostics=sorted([*result.diagnostics, error]))


@click.group(cls=Commands)
@click.version_option(package_name="masterclass")
def cli() -> None:
    """Masterclass: compile, serve and report on e-learning courses."""


GC_YOUNG_THRESHOLD = 20_000
"""Allocations between young garbage collections in ``masterclass serve`` (Python's default: 700)."""


def settle_garbage_collector() -> None:
    """Before serving: how `masterclass serve` sets up Python's garbage collector for a long-running server."""
    # What start-up made (the compiled courses, templates, settings) lives as long as the process: out of the
    # collector's sight, a full collection walks only what requests made, and pauses the event loop less.
    gc.collect()
    gc.freeze()
    # The store keeps learners' records and progress (a few hundred thousand objects), which every full collection
    # walks: about 100 ms with the event loop stopped. At the default threshold (700) a request's short-lived
    # objects are caught by young collections and aged into the old generation, which set off a full collection
    # every 1 to 5 s under load. Young collections every 20,000 allocations let nearly all of them die first:
    # one full collection in 30 s at 929 lesson pages/s, and the open-loop p99 fell from 134 to 40 ms
    # (docs/performance.md). Cycles are still collected, only in larger batches.
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)


@cli.command()
@click.argument("course_dir", required=False, type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json prints one object per course, for editors and CI.")
def check(course_dir: str | None, fmt: str) -> None:
    """Check a course folder and report every problem as path:line:col.

    Exits with status 1 when there is any error. Example:

        masterclass check content/innovation-masterclass
    """
    failed = False
    for where in course_dirs(course_dir):
        result = with_address_check(Builder(where, progress=_Bar(f"Checking {where.name}")).build(), where)
        _report(result, where, fmt)
        if fmt == "text":
            status = "ok" if result.ok else "failed"
            click.echo(f"{where}: {status}: {result.summary()}")
        failed = failed or not result.ok
    sys.exit(1 if failed else 0)


@cli.command()
@click.argument("course_dir", required=False, type=click.Path(file_okay=False))
@click.option("-o", "--output", "output", type=click.Path(file_okay=False), default=None,
              help="Where to write the compiled course. Default: build/<course folder name>.")
def build(course_dir: str | None, output: str | None) -> None:
    """Compile a course into DIR for the runtime to load without re-parsing Markdown.

    Unchanged lessons are taken from DIR's earlier build. Example:

        masterclass build content/innovation-masterclass -o build/innovation-masterclass
    """
    failed = False
    dirs = course_dirs(course_dir)
    for where in dirs:
        out = Path(output) if output and len(dirs) == 1 else Path(output or "build") / where.resolve().name
        if out.resolve().is_relative_to((where / "media").resolve()):
            # The build copies the media folder into the output: inside it, into itself, level after level.
            raise click.BadParameter(f"{out} is inside the course's media folder", param_hint="-o")
        builder = Builder(where, progress=_Bar(f"Building {where.name}"), lesson_store=partial(read_lesson, out))
        result = with_address_check(builder.build(), where)
        for diagnostic in result.diagnostics:
            click.echo(diagnostic.format(), err=True)
        if result.ok and result.course is not None:
            try:
                write_compiled(result.course, where, out)
            except OSError as exc:  # out is left as it was: say why in one line, and build the other courses
                click.echo(f"{where}: not built: cannot write {exc.filename or out}: {exc.strerror or exc}", err=True)
                failed = True
                continue
            click.echo(f"Built {where} -> {out}: {result.summary()} ({result.parsed} parsed)")
        else:
            click.echo(f"{where}: not built: {result.summary()}", err=True)
            failed = True
    sys.exit(1 if failed else 0)


@cli.command()
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option("--db", "db_path", default="masterclass.db", show_default=True, help="The SQLite database file.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--config", "config", default=None, type=CONFIG_FILE,
              help="Settings file (default: masterclass.yaml if present).")
def serve(path: str | None, db_path: str, host: str, port: int, config: str | None) -> None:
    """Serve courses to learners: a course folder, a folder of courses, or every course under content/.

    The database is created and migrated on first start. Example:

        masterclass serve content --db masterclass.db --port 8000
    """
    import uvicorn

    from .settings import SettingsError, load_settings, served_at
    from .web import create_app
    from .web.app import reserved_addresses
    from .web.courses import CourseLoadError, discover_courses

    try:
        settings = load_settings(config)
        courses = discover_courses(Path(path or "content"), reserved_addresses())
    except (SettingsError, CourseLoadError) as exc:
        raise click.ClickException(str(exc)) from None
    warning = served_at(settings, host, port)
    if warning:
        click.echo(f"Warning: {warning}", err=True)
    store = open_store(db_path, erase=False)  # create_app carries out the recorded erasures, and logs them
    app = create_app(settings=settings, store=store, courses=courses)
    names = ", ".join(f"/{rt.slug}/" for rt in courses)
    click.echo(f"Serving {names} at http://{host}:{port}/ (database {db_path})")
    settle_garbage_collector()
    uvicorn.run(app, host=host, port=port, **serve_options(settings))


@cli.command()
@click.argument("course_dir", required=False, default=".", type=click.Path(file_okay=False, exists=True))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
def preview(course_dir: str, host: str, port: int) -> None:
    """Preview a course as a learner sees it, reloading open pages on every save.

    Uses a throwaway database and a signed-in preview learner; authoring errors
    show in place of the page until the next good save. Example:

        masterclass preview content/innovation-masterclass
    """
    import shutil
    import signal
    import tempfile

    import uvicorn

    from .security import hash_password
    from .settings import SettingsError, load_settings, served_at
    from .storage.db import Store
    from .web import create_app
    from .web.courses import CourseLoadError
    from .web.preview import PREVIEW_EMAIL, Preview

    try:
        settings = load_settings(None)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    served_at(settings, host, port)  # the preview is for the author on this machine: no warning
    folder = tempfile.mkdtemp(prefix="masterclass-preview-")
    store: Store | None = None
    # After a graceful shutdown uvicorn raises the signal that asked for it again, so that the process ends as
    # the signal's default action would end it. Ctrl+C's default is KeyboardInterrupt, which runs the cleanup
    # below; SIGTERM's ends the process there and then, past it. Until the cleanup is done, SIGTERM is an
    # exception too (``stopped_by``), and is raised again after it.
    terminated = False
    try:
        with stopped_by(signal.SIGTERM):
            store = Store(Path(folder) / "preview.db")
            store.create_user(name="Preview learner", email=PREVIEW_EMAIL, department=settings.departments[0],
                              password_hash=hash_password(secrets.token_urlsafe(16)))
            state = Preview.start(Path(course_dir))
            for diagnostic in state.diagnostics:
                click.echo(diagnostic.format(), err=True)
            app = create_app(settings=settings, store=store, courses=[], preview=state)
            click.echo(f"Previewing {course_dir} at http://{host}:{port}/ (reloads on save; Ctrl+C to stop)")
            uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning",
                        timeout_graceful_shutdown=2)
    except CourseLoadError as exc:  # an address that cannot be served (create_app): the temporary folder goes too
        raise click.ClickException(str(exc)) from None
    except Stopped:
        terminated = True
    finally:  # the throwaway database goes with the preview
        if store is not None:
            store.close()
        shutil.rmtree(folder, ignore_errors=True)
    if terminated:
        signal.raise_signal(signal.SIGTERM)  # ended by SIGTERM, as `masterclass serve` is: its exit status says so


@cli.command("new")
@click.argument("course_dir", type=click.Path(file_okay=False))
@click.option("--title", default=None, help="The course title (default: from the folder name).")
def new_course(course_dir: str, title: str | None) -> None:
    """Start a new course: course.yaml, one module, and a lesson with every kind of block. Example:

        masterclass new content/my-course --title "My course"
    """
    import re
    import shutil

    target = Path(course_dir)
    if target.exists() and any(target.iterdir()):
        raise click.ClickException(f"{target} already exists and is not empty")
    slug = re.sub(r"[^a-z0-9-]+", "-", target.resolve().name.lower()).strip("-") or "course"
    shutil.copytree(Path(__file__).parent / "scaffold", target, dirs_exist_ok=True)
    course_yaml = target / "course.yaml"
    text = course_yaml.read_text(encoding="utf-8").replace("COURSE_SLUG", slug)
    # Quoted as JSON, which YAML reads: a title with a colon, a quote or a line break stays one title.
    course_yaml.write_text(text.replace("COURSE_TITLE", json.dumps(title or slug.replace("-", " ").capitalize(),
                                                                   ensure_ascii=False)), encoding="utf-8")
    result = Builder(target).build()
    for diagnostic in result.diagnostics:
        click.echo(diagnostic.format(), err=True)
    click.echo(f"Created {target}: {result.summary()}")
    click.echo(f"Preview it with: masterclass preview {target}")


from .reports.cli import reports_group  # noqa: E402
from .xapi.cli import lrs_group  # noqa: E402 - commands join the one group defined above
from .xapi.outbox_cli import add_commands, export  # noqa: E402

add_commands(lrs_group)
cli.add_command(lrs_group)
cli.add_command(reports_group)
cli.add_command(export)
from .certificates_cli import certificates_group  # noqa: E402

cli.add_command(certificates_group)
from .backup_cli import backup_command  # noqa: E402
from .users_cli import users_group  # noqa: E402

cli.add_command(backup_command)
cli.add_command(users_group)


def main() -> None:
    cli()
