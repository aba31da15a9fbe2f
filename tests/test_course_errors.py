"""Course- and module-level authoring mistakes: each located in course.yaml or module.yaml."""

from __future__ import annotations

from pathlib import Path

from course import build
from helpers import COURSE_YAML, make_course


def messages(root: Path) -> list[str]:
    return [d.format() for d in build(root).diagnostics]


def test_invalid_course_yaml_has_its_line(tmp_path: Path) -> None:
    make_course(tmp_path, course_yaml="id: https://x.example/c\ntitle: [oops\nmodules: [01-intro]\n")
    assert messages(tmp_path) == [
        "course.yaml:3:8: error: invalid YAML: expected ',' or ']', but got ':' while parsing a flow sequence"
    ]


def test_unknown_and_missing_keys(tmp_path: Path) -> None:
    make_course(tmp_path, course_yaml="id: https://x.example/c\ntitel: Demo\nmodules: [01-intro]\nmastery_score: 2\n")
    assert messages(tmp_path) == [
        'course.yaml:1:1: error: course.yaml is missing required key "title"',
        'course.yaml:2:1: error: unknown key "titel" in course.yaml (did you mean "title"?)',
        "course.yaml:4:16: error: mastery_score must be between 0 and 1, e.g. 0.8",
    ]


def test_id_must_be_an_iri(tmp_path: Path) -> None:
    make_course(tmp_path, course_yaml=COURSE_YAML.replace("https://learn.example.gov.uk/courses/demo", "demo"))
    assert messages(tmp_path) == [
        'course.yaml:1:5: error: "id" must be an absolute IRI such as https://example.org/courses/x; got "demo"'
    ]


def test_module_listed_but_missing_and_folder_not_listed(tmp_path: Path) -> None:
    make_course(tmp_path, course_yaml=COURSE_YAML.replace("[01-intro]", "[01-intro, 02-ideaz]"))
    (tmp_path / "modules" / "02-ideas").mkdir()
    assert messages(tmp_path) == [
        'course.yaml:4:21: error: module "02-ideaz" is listed but modules/02-ideaz/ is missing (did you mean "02-ideas"?)',
        'modules/02-ideas:1:1: warning: folder modules/02-ideas/ is not listed in course.yaml "modules", so it is left out',
    ]


def test_missing_module_yaml_and_empty_module(tmp_path: Path) -> None:
    make_course(tmp_path, course_yaml=COURSE_YAML.replace("[01-intro]", "[01-intro, 02-empty]"))
    (tmp_path / "modules" / "02-empty").mkdir()
    assert messages(tmp_path) == [
        "modules/02-empty/module.yaml:1:1: error: module 02-empty has no lessons: add files named like 010-introduction.md",
        "modules/02-empty/module.yaml:1:1: error: modules/02-empty/module.yaml is missing",
    ]


def test_module_yaml_errors(tmp_path: Path) -> None:
    make_course(tmp_path)
    (tmp_path / "modules" / "01-intro" / "module.yaml").write_text("summary: x\ncomplete_when: passd\nrequires: [nope]\n")
    assert messages(tmp_path) == [
        'modules/01-intro/module.yaml:1:1: error: module.yaml is missing required key "title"',
        'modules/01-intro/module.yaml:2:16: error: "complete_when" must be one of: all_lessons, passed; got "passd" '
        '(did you mean "passed"?)',
        'modules/01-intro/module.yaml:3:12: error: requires unknown module "nope"',
    ]


def test_badly_named_lesson_file_is_a_warning(tmp_path: Path) -> None:
    make_course(tmp_path)
    (tmp_path / "modules" / "01-intro" / "Notes.md").write_text("---\ntitle: x\n---\n")
    result = build(tmp_path)
    assert [d.format() for d in result.diagnostics] == [
        "modules/01-intro/Notes.md:1:1: warning: lesson file names look like 010-some-title.md (a number, -, "
        "lower-case letters, digits and -), so this file is left out"
    ]
    assert result.ok


def test_reserved_module_name(tmp_path: Path) -> None:
    make_course(tmp_path, course_yaml=COURSE_YAML.replace("[01-intro]", "[01-intro, media]"))
    assert messages(tmp_path) == ['course.yaml:4:21: error: module folder name "media" is reserved']


def test_missing_course_yaml(tmp_path: Path) -> None:
    make_course(tmp_path)
    (tmp_path / "course.yaml").unlink()
    assert messages(tmp_path)[0] == "course.yaml:1:1: error: course.yaml is missing"


def test_all_problems_at_once(tmp_path: Path) -> None:
    make_course(tmp_path, course_yaml=COURSE_YAML + "colour: blue\n", lesson="---\ntitle: T\n---\n::: quiz id=a\n:::\n")
    found = messages(tmp_path)
    assert len(found) == 2
    assert found[0].startswith("course.yaml:5:1: error: unknown key")
    assert found[1].startswith("modules/01-intro/010-lesson.md:4:5: error: unknown block type")
