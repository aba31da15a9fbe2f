"""Authoring mistakes a fuzzer found crashing the compiler or leaking files: each is now a located error, or
harmless. (Fixtures with one mistake each live in tests/fixtures/lesson_errors.md; these need files around them.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from course import build, write_compiled
from helpers import make_course


def problems(root: Path) -> list[str]:
    return [d.format() for d in build(root).diagnostics]


@pytest.mark.parametrize(("value", "message"), [
    ("2024-02-30", '"2024-02-30" is not a valid timestamp (day is out of range for month)'),
    ("!!int x", '"x" is not a valid int'),
    ("!!float x", '"x" is not a valid float'),
    ("!!timestamp x", '"x" is not a valid timestamp'),
    ("9" * 5000, "is not a valid int (Exceeds the limit"),
])
def test_a_yaml_value_that_cannot_be_made_is_located(tmp_path: Path, value: str, message: str) -> None:
    root = make_course(tmp_path / "demo", lesson=f"---\ntitle: {value}\n---\nHello.\n")
    [problem] = problems(root)
    assert problem.startswith("modules/01-intro/010-lesson.md:2:8: error: invalid YAML: ") and message in problem


def test_numbers_too_long_in_blocks_and_durations_are_located(tmp_path: Path) -> None:
    huge = "9" * 5000
    lesson = (f"---\ntitle: T\nduration: {huge}m\n---\n::: question id=q max_attempts={huge}\nPick.\n\n"
              f"- [x] A\n- [ ] B\n:::\n\n::: poll id=p\nHow?\n\nscale: 1-{huge}\n:::\n")
    found = problems(make_course(tmp_path / "demo", lesson=lesson))
    assert any(p.startswith("modules/01-intro/010-lesson.md:3:") and "duration" in p for p in found), found
    assert any(p.startswith("modules/01-intro/010-lesson.md:5:") and "max_attempts= must be a whole number" in p
               for p in found), found
    assert any(p.startswith("modules/01-intro/010-lesson.md:15:") and "malformed scale" in p for p in found), found


def test_a_lesson_with_old_mac_line_ends_compiles(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo")
    (root / "modules" / "01-intro" / "010-lesson.md").write_bytes(b"---\rtitle: T\r---\rtext\r\r# H\r")
    assert problems(root) == ["modules/01-intro/010-lesson.md:6:1: warning: the lesson title comes from its front "
                              "matter: start headings at ##"]  # the lines counted as the author sees them


def test_links_that_loop_are_not_lessons_or_modules(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo")
    os.symlink("030-loop.md", root / "modules" / "01-intro" / "030-loop.md")
    os.symlink("02-loop", root / "modules" / "02-loop")
    found = problems(root)
    assert not any("loop" in p and "error" in p for p in found), found


def test_a_media_link_to_a_file_outside_the_course_is_not_found_and_never_copied(tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for learners")
    lesson = "---\ntitle: T\n---\n![a chart](../../media/leak.png)\n"
    root = make_course(tmp_path / "demo", lesson=lesson)
    os.symlink(secret, root / "media" / "leak.png")
    os.symlink(tmp_path / "nowhere.png", root / "media" / "broken.png")
    found = problems(root)
    assert any("media/leak.png" in p and "error" in p for p in found), found
    # Built anyway (a build of a course with errors is refused, so leave the lesson out): the link is skipped.
    (root / "modules" / "01-intro" / "010-lesson.md").write_text("---\ntitle: T\n---\nHello.\n")
    result = build(root)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.course is not None
    write_compiled(result.course, root, tmp_path / "out")
    copied = sorted(p.name for p in (tmp_path / "out" / "media").iterdir())
    assert "leak.png" not in copied and "broken.png" not in copied and "pic.png" in copied


def _module(root: Path, name: str, extra: str) -> None:
    folder = root / "modules" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "module.yaml").write_text(f"title: {name}\nsummary: S.\n{extra}", encoding="utf-8")
    (folder / "010-a.md").write_text("---\ntitle: A\n---\nHello.\n", encoding="utf-8")


def test_rules_no_learner_could_ever_meet_are_errors(tmp_path: Path) -> None:
    course_yaml = ("id: https://learn.example.gov.uk/courses/demo\ntitle: Demo\nlanguage: en-GB\n"
                   "modules: [01-intro, 02-b, 03-c, 04-d]\ncompletion: {modules: all, capstone: true}\n")
    root = make_course(tmp_path / "demo", course_yaml=course_yaml)
    (root / "modules" / "01-intro" / "module.yaml").write_text(
        "title: Intro\nsummary: S.\nrequires: [01-intro]\n", encoding="utf-8")
    _module(root, "02-b", "requires: [03-c]\n")
    _module(root, "03-c", "requires: [02-b]\n")
    _module(root, "04-d", "complete_when: passed\n")
    found = problems(root)
    assert 'modules/01-intro/module.yaml:1:1: error: module "01-intro" requires itself, so learners could never ' \
           "start it" in found
    assert 'modules/02-b/module.yaml:1:1: error: module "02-b" requires modules that require it: 02-b → 03-c → ' \
           "02-b, so learners could never start it" in found
    assert not any(p.startswith("modules/03-c/module.yaml") for p in found)  # the same loop, once
    assert any(p.startswith("modules/04-d/module.yaml:1:1: error: complete_when: passed needs a question")
               for p in found), found
    assert any(p.startswith("course.yaml:5:13: error: completion asks for the capstone, but the course has no "
                            "capstone section") for p in found), found


def test_capstone_guidance_that_is_not_a_file_is_missing_not_waited_for(tmp_path: Path) -> None:
    from test_capstone_compile import GOOD, course_with

    root = course_with(tmp_path, GOOD)
    (root / "guide.md").unlink()
    os.mkfifo(root / "guide.md")  # reading a named pipe waits for a writer: for ever
    found = problems(root)
    assert any('missing guidance file "guide.md"' in p for p in found), found


def test_a_stage_id_is_a_segment_of_an_address(tmp_path: Path) -> None:
    from test_capstone_compile import GOOD, course_with

    root = course_with(tmp_path, GOOD.replace("{id: agree,", "{id: '../x y/<b>',"))
    found = problems(root)
    assert any('the stage id "../x y/<b>" may hold only letters, digits, - and _' in p for p in found), found


def test_a_template_of_the_course_theme_is_read_for_its_syntax(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo")
    (root / "theme" / "blocks").mkdir(parents=True)
    (root / "theme" / "lesson.html").write_text('{% extends "default:lesson.html" %}\n{% block content %}ok'
                                                "{% endblock %}\n")
    (root / "theme" / "blocks" / "_poll.html").write_text("<p>\n{{ broken( }}\n</p>\n")
    assert problems(root) == ["theme/blocks/_poll.html:2:1: error: template syntax: unexpected '}', expected ')'"]


def test_an_unclosed_quote_is_reported_where_it_opens(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo", course_yaml="id: https://learn.example.gov.uk/courses/demo\n"
                       'title: "Unclosed\nlanguage: en-GB\nmodules: [01-intro]\n')
    found = problems(root)
    assert found and found[0].startswith("course.yaml:2:8: error: invalid YAML: found unexpected end of stream"), found


def test_inline_html_is_located_in_its_own_paragraph(tmp_path: Path) -> None:
    lesson = "---\ntitle: <b>T</b>\n---\nPara <b>x</b>\n\nOther <b>y</b>\n\n- item <b>z</b>\n"
    found = problems(make_course(tmp_path / "demo", lesson=lesson))
    # Each tag, opening and closing, where it is: not on the first line holding the same text (the front matter's).
    assert [p.split(": error")[0].rpartition(".md:")[2] for p in found] == [
        "4:6", "4:10", "6:7", "6:11", "8:8", "8:12"]


def test_a_theme_template_that_extends_one_that_is_not_there_stops_the_course_being_served(tmp_path: Path) -> None:
    from engine.web.courses import CourseLoadError, discover_courses

    root = make_course(tmp_path / "demo")
    (root / "theme").mkdir()
    (root / "theme" / "lesson.html").write_text('{% extends "default:lesson.html" %}{% block content %}'
                                                '{% include "blocks/_poll.html" %}{% endblock %}')
    assert [rt.slug for rt in discover_courses(root)] == ["demo"]  # the service's templates are found
    (root / "theme" / "course.html").write_text('{% extends "nope.html" %}')
    assert problems(root) == []  # the check knows only the syntax
    with pytest.raises(CourseLoadError, match=r"theme/course\.html: there is no template 'nope\.html'"):
        discover_courses(root)


def test_a_lesson_too_long_to_take_is_an_error_not_a_minute_of_compiling(tmp_path: Path) -> None:
    body = "A paragraph of a lesson that goes on and on.\n\n" * 50_000  # 2.3 MB
    root = make_course(tmp_path / "demo", lesson="---\ntitle: T\n---\n" + body)
    [problem] = problems(root)
    assert problem.startswith("modules/01-intro/010-lesson.md:1:1: error: the lesson is 2.3 MB, and a lesson may be "
                              "at most 2 MB")


def test_an_unknown_required_module_is_located_at_its_name(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo")
    (root / "modules" / "01-intro" / "module.yaml").write_text(
        "title: Intro\nsummary: S.\nrequires:\n  - 00-nope\n  - 01-intro-x\n", encoding="utf-8")
    assert [p for p in problems(root) if "unknown module" in p] == [
        'modules/01-intro/module.yaml:4:5: error: requires unknown module "00-nope"',
        'modules/01-intro/module.yaml:5:5: error: requires unknown module "01-intro-x" (did you mean "01-intro"?)']


def test_a_character_yaml_does_not_allow_is_located(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo", course_yaml="id: https://learn.example.gov.uk/courses/demo\n"
                       "title: Demo\x00x\nlanguage: en-GB\nmodules: [01-intro]\n")
    assert problems(root) == ["course.yaml:2:12: error: invalid YAML: the character U+0000 is not allowed"]
