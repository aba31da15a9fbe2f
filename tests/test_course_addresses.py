"""A course's address (``/{slug}/``, the course folder's name) is checked at start: not one of the service's own
top-level paths, not shared with another course, and usable in a web address as it is."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from course import build, write_compiled
from engine.cli import cli
from engine.settings import load_settings
from engine.storage.db import Store
from engine.web import create_app
from engine.web.app import reserved_addresses
from engine.web.courses import CourseLoadError, CourseRuntime, discover_courses
from engine.web.routing import first_segments
from helpers import make_course
from webhelpers import make_app, register


def serve(courses: list[CourseRuntime], db: Path) -> None:
    create_app(settings=load_settings(Path("/nonexistent.yaml"), {}), store=Store(db), courses=courses,
               secret=b"s" * 32)


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that was not refused would start a server: fail instead, and leave the collector as it is."""
    import uvicorn

    def run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server was started")

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setattr("engine.cli.settle_garbage_collector", lambda: None)


def test_a_course_folder_named_like_a_path_of_the_service_is_refused_at_start(tmp_path: Path,
                                                                              no_server: None) -> None:
    content = tmp_path / "content"
    make_course(content / "intro")
    make_course(content / "reports")  # /reports/ is the programme reports: the course's home was never reached
    line = f"{content / 'reports'}: its address /reports/ is one of the service's own; rename the course folder"
    with pytest.raises(CourseLoadError) as refused:
        serve(discover_courses(content), tmp_path / "a.db")
    assert str(refused.value) == line
    db = tmp_path / "b.db"
    result = CliRunner().invoke(cli, ["serve", str(content), "--db", str(db)])
    assert result.exit_code == 1, result.output
    assert result.output == f"Error: {line}\n" and "Traceback" not in result.output
    assert not db.exists()  # refused before the database is made


def test_every_top_level_path_of_the_app_is_reserved(tmp_path: Path) -> None:
    """Derived from the apps `masterclass serve` and `preview` build, so a route added later is covered."""
    from engine.web.app import GOVUK_DIST
    from engine.web.preview import Preview

    content = make_course(tmp_path / "intro")
    served, _ = make_app(content, tmp_path / "a.db")
    previewed = create_app(settings=load_settings(Path("/nonexistent.yaml"), {}), store=Store(tmp_path / "b.db"),
                           courses=[], preview=Preview.start(content), secret=b"s" * 32)
    found = first_segments(served.app.app.router.routes)  # type: ignore[attr-defined]
    found |= first_segments(previewed.app.router.routes)  # type: ignore[attr-defined]
    assert found <= reserved_addresses()
    if GOVUK_DIST.is_dir():
        assert found == reserved_addresses()
    assert {"sign-in", "sign-out", "register", "my-data", "reports", "certificates", "xapi", "assets", "static",
            "health", "govuk-frontend.min.js", "accessibility", "preview"} <= reserved_addresses()


@pytest.mark.parametrize("name", sorted(reserved_addresses()))
def test_a_course_named_like_each_top_level_path_is_refused(tmp_path: Path, name: str) -> None:
    folder = make_course(tmp_path / "content" / name)
    line = f"{folder}: its address /{name}/ is one of the service's own; rename the course folder"
    for courses in discover_courses(folder), discover_courses(tmp_path / "content"):  # the course, or its folder
        with pytest.raises(CourseLoadError) as refused:
            serve(courses, tmp_path / "a.db")
        assert str(refused.value) == line
    with pytest.raises(CourseLoadError) as refused:
        discover_courses(tmp_path / "content", reserved_addresses())  # as `masterclass serve` does
    assert str(refused.value) == line


def test_a_compiled_course_says_to_rename_the_folder_it_was_built_from(tmp_path: Path) -> None:
    source = make_course(tmp_path / "content" / "sign-in")
    out = tmp_path / "out" / "welcome"
    result = build(source)  # as `masterclass build` did before it checked the address (it refuses now)
    assert result.course is not None
    write_compiled(result.course, source, out)
    with pytest.raises(CourseLoadError) as refused:
        discover_courses(tmp_path / "out", reserved_addresses())
    assert str(refused.value) == (f"{out}: its address /sign-in/ is one of the service's own; rename the course "
                                  "folder it was built from (sign-in) and build it again")


def test_preview_refuses_a_course_named_like_a_path_of_the_service(tmp_path: Path, no_server: None,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    folder = make_course(tmp_path / "my-data")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    result = CliRunner().invoke(cli, ["preview", str(folder)])
    assert result.exit_code == 1, result.output
    assert result.output == (f"Error: {folder}: its address /my-data/ is one of the service's own; rename the "
                             "course folder\n")
    assert not any(temporary.iterdir())  # its throwaway database went with it


def test_check_and_build_report_an_address_serve_would_refuse_as_an_error_in_course_yaml(tmp_path: Path) -> None:
    content = tmp_path / "content"
    make_course(content / "intro")
    folder = make_course(content / "reports")
    error = ("course.yaml:1:1: error: `masterclass serve` would refuse this course: its address /reports/ is one of "
             "the service's own; rename the course folder")
    checked = CliRunner().invoke(cli, ["check", str(content)])  # a folder of courses: each is checked
    assert checked.exit_code == 1, checked.output
    intro, located, failed = checked.stdout.splitlines()
    assert intro.startswith(f"{content / 'intro'}: ok: ") and located == error
    assert failed.startswith(f"{folder}: failed: 1 modules, 2 lessons, 0 blocks, 1 errors, 0 warnings in ")
    as_json = CliRunner().invoke(cli, ["check", str(folder), "--format", "json"])
    assert as_json.exit_code == 1, as_json.output
    report = json.loads(as_json.stdout)
    assert report["ok"] is False and report["diagnostics"] == [
        {"path": "course.yaml", "line": 1, "col": 1, "severity": "error", "source": "",
         "message": "`masterclass serve` would refuse this course: its address /reports/ is one of the service's "
                    "own; rename the course folder"}]
    out = tmp_path / "out"
    built = CliRunner().invoke(cli, ["build", str(folder), "-o", str(out)])
    assert built.exit_code == 1, built.output
    assert built.stderr.splitlines()[0] == error
    assert built.stderr.splitlines()[1].startswith(f"{folder}: not built: ")
    assert not out.exists()  # as with any other error: nothing is written


def test_check_reports_every_reserved_name_and_a_name_a_web_address_cannot_carry(tmp_path: Path) -> None:
    content = tmp_path / "content"
    names = [*sorted(reserved_addresses()), "two words"]
    for name in names:
        make_course(content / name)
    make_course(content / "reports-2024")  # near a reserved name, but not one
    checked = CliRunner().invoke(cli, ["check", str(content), "--format", "json"])
    assert checked.exit_code == 1, checked.output
    reports = {Path(r["course"]).name: r for r in map(json.loads, checked.stdout.splitlines())}
    assert {name: r["ok"] for name, r in reports.items()} == {**{name: False for name in names},
                                                               "reports-2024": True}
    for name in reserved_addresses():
        assert [(d["path"], d["line"], d["col"], d["message"]) for d in reports[name]["diagnostics"]] == [
            ("course.yaml", 1, 1, f"`masterclass serve` would refuse this course: its address /{name}/ is one of "
                                  "the service's own; rename the course folder")]
    assert [d["message"] for d in reports["two words"]["diagnostics"]] == [
        "`masterclass serve` would refuse this course: its name 'two words' cannot be in a web address as it is "
        "(use only letters, digits, '-', '_', '.' and '~'); rename the course folder"]
    assert reports["reports-2024"]["diagnostics"] == []


def test_two_courses_with_one_address_are_refused_naming_both(tmp_path: Path) -> None:
    source = make_course(tmp_path / "content" / "intro")
    for name in ("a", "b"):  # one course built twice: both are served at /intro/
        assert CliRunner().invoke(cli, ["build", str(source), "-o", str(tmp_path / "out" / name)]).exit_code == 0
    with pytest.raises(CourseLoadError) as refused:
        discover_courses(tmp_path / "out")
    out = tmp_path / "out"
    assert str(refused.value) == (f"{out / 'b'}: its address /intro/ is also {out / 'a'}'s; rename the course "
                                  "folder one of them was built from (intro) and build it again")
    other = make_course(tmp_path / "elsewhere" / "intro")  # two folders given to the app: one was dropped, silently
    with pytest.raises(CourseLoadError) as refused:
        make_app([source, other], tmp_path / "a.db")
    assert str(refused.value) == f"{other}: its address /intro/ is also {source}'s; rename one of the course folders"


@pytest.mark.parametrize("name", ["two words", "100%", "what?", "a#b", "back\\slash", "tab\there", "nbsp\u00a0x"])
def test_a_course_folder_name_a_web_address_cannot_carry_is_refused(tmp_path: Path, name: str) -> None:
    folder = make_course(tmp_path / "content" / name)
    line = (f"{folder}: its name {name!r} cannot be in a web address as it is (use only letters, digits, '-', "
            "'_', '.' and '~'); rename the course folder")
    for path in folder, tmp_path / "content":
        with pytest.raises(CourseLoadError) as refused:
            discover_courses(path)
        assert str(refused.value) == line


def test_other_names_are_served_at_their_addresses(tmp_path: Path) -> None:
    """Names near the service's own, other scripts' letters and the other unreserved characters."""
    names = ["reports-2024", "Sign-In", "café", "Intro_2.0~b", ".hidden"]
    client, _ = make_app([make_course(tmp_path / name) for name in names], tmp_path / "a.db")
    register(client)
    for name in names:
        assert "Hello." in client.get(f"/{quote(name)}/01-intro/lesson").text, name


def test_the_authoring_guide_lists_the_reserved_names() -> None:
    text = " ".join((Path(__file__).parents[1] / "docs" / "authoring.md").read_text(encoding="utf-8").split())
    listed = re.search(r"a course folder cannot be called (.+?)\. Courses served together", text)
    assert listed is not None
    assert set(re.findall(r"`([^`]+)`", listed.group(1))) == reserved_addresses()
