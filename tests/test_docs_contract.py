"""docs/authoring.md is a contract: it documents every field and attribute, and its examples compile.

- Every field of course.yaml, module.yaml and lesson front matter, and every attribute of every
  block type, has a row in its table in the doc, with the wording of its ``Field.doc``; no table
  documents a field that does not exist.
- Every block type has its own heading.
- Every ```markdown example is compiled as a lesson (with a front matter added when it has none)
  and must give no error or warning. Examples that show mistakes use ```text instead.
- Every ```yaml example starts with a comment naming its file and is valid for that file.
- Every example error message in the doc is a real one, copied from the compiler's tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from course import build, yamlsource
from course.blocks import BLOCK_ATTRS
from course.diagnostics import Diagnostics
from course.model import BLOCK_TYPES, Callout, Poll, Question
from course.schema import COURSE_FIELDS, LESSON_FIELDS, MODULE_FIELDS, Field, validate
from helpers import make_course

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "authoring.md"
FRONT_MATTER = "---\ntitle: Example\n---\n"
DIAGNOSTIC = re.compile(r"^\S+:\d+:\d+: (error|warning): .+$")


@dataclass
class Section:
    heading: str
    rows: list[list[str]] = field(default_factory=list)
    """Table body rows, each a list of cell sources, e.g. ["`id`", "yes", "..."]."""


@dataclass
class Fence:
    info: str
    content: str
    line: int


def _parse_doc() -> tuple[list[Section], list[Fence]]:
    tokens = MarkdownIt("commonmark").enable("table").parse(DOC.read_text(encoding="utf-8"))
    sections = [Section("")]
    fences: list[Fence] = []
    row: list[str] | None = None
    in_body = False
    for n, token in enumerate(tokens):
        if token.type == "heading_open":
            sections.append(Section(tokens[n + 1].content))
        elif token.type == "fence":
            fences.append(Fence(token.info.strip(), token.content, (token.map or [0])[0] + 1))
        elif token.type == "tbody_open":
            in_body = True
        elif token.type == "tbody_close":
            in_body = False
        elif token.type == "tr_open" and in_body:
            row = []
        elif token.type == "tr_close" and row is not None:
            sections[-1].rows.append(row)
            row = None
        elif token.type == "inline" and row is not None:
            row.append(token.content.strip())
    return sections, fences


SECTIONS, FENCES = _parse_doc()


def section(containing: str) -> Section:
    found = [s for s in SECTIONS if containing in s.heading]
    assert found, f"docs/authoring.md has no heading containing {containing!r}"
    return found[0]


def assert_table_documents(sec: Section, fields: tuple[Field, ...]) -> None:
    rows = {r[0]: r for r in sec.rows if r}
    for f in fields:
        name = f"`{f.name}`"
        assert name in rows, f'no table row for {name} under "{sec.heading}"'
        assert f.doc in rows[name], (
            f'the row for {name} under "{sec.heading}" does not use the wording of its Field.doc:\n'
            f"  doc:   {rows[name]}\n  field: {f.doc}"
        )
    documented = set(rows) - {f"`{f.name}`" for f in fields}
    assert not documented, f'"{sec.heading}" documents fields that do not exist: {sorted(documented)}'


@pytest.mark.parametrize(
    ("heading", "fields"),
    [("course.yaml", COURSE_FIELDS), ("module.yaml", MODULE_FIELDS), ("Lesson files", LESSON_FIELDS)],
)
def test_every_field_is_documented_in_its_files_table(heading: str, fields: tuple[Field, ...]) -> None:
    assert_table_documents(section(heading), fields)


@pytest.mark.parametrize("block_type", BLOCK_TYPES)
def test_every_block_type_has_a_heading_and_an_attribute_table(block_type: str) -> None:
    assert_table_documents(section(f"`{block_type}`"), BLOCK_ATTRS[block_type])


def test_every_name_appears_in_backticks() -> None:
    text = DOC.read_text(encoding="utf-8")
    names = {f.name for f in (*COURSE_FIELDS, *MODULE_FIELDS, *LESSON_FIELDS)}
    names |= {f.name for fields in BLOCK_ATTRS.values() for f in fields}
    missing = sorted(name for name in names if f"`{name}`" not in text)
    assert not missing, f"docs/authoring.md does not mention {missing}"


MARKDOWN = [f for f in FENCES if f.info == "markdown"]


def compile_example(root: Path, fence: Fence) -> list[str]:
    body = fence.content if fence.content.startswith("---\n") else FRONT_MATTER + fence.content
    result = build(make_course(root, lesson=body))
    return [d.format() for d in result.diagnostics]


@pytest.mark.parametrize("fence", MARKDOWN, ids=[f"line-{f.line}" for f in MARKDOWN])
def test_markdown_example_compiles_cleanly(tmp_path: Path, fence: Fence) -> None:
    problems = compile_example(tmp_path, fence)
    assert problems == [], f"the example at docs/authoring.md:{fence.line} does not compile cleanly:\n" + "\n".join(
        problems
    )


def test_examples_show_every_kind_of_block(tmp_path: Path) -> None:
    assert any(":::" in f.content for f in MARKDOWN)
    blocks = []
    for n, fence in enumerate(MARKDOWN):
        body = fence.content if fence.content.startswith("---\n") else FRONT_MATTER + fence.content
        result = build(make_course(tmp_path / str(n), lesson=body))
        assert result.course is not None
        blocks += result.course.lessons()[0].blocks
    assert {b.type for b in blocks} == set(BLOCK_TYPES)
    questions = [b for b in blocks if isinstance(b, Question)]
    assert {q.multiple for q in questions} == {True, False}, "show a single- and a multiple-choice question"
    assert any(q.hint_html and q.explanation_html and all(o.feedback_html for o in q.options) for q in questions)
    polls = [b for b in blocks if isinstance(b, Poll)]
    assert any(p.scale and p.scale.labels and p.measure for p in polls), "show a poll with a scale"
    assert any(p.options for p in polls), "show a poll with options"
    assert {b.kind for b in blocks if isinstance(b, Callout)} == {"note", "tip", "warning"}


YAML = [f for f in FENCES if f.info == "yaml"]


@pytest.mark.parametrize("fence", YAML, ids=[f"line-{f.line}" for f in YAML])
def test_yaml_example_is_valid_for_its_file(fence: Fence) -> None:
    first = fence.content.splitlines()[0]
    if first == "# course.yaml":
        fields, what = COURSE_FIELDS, "course.yaml"
    elif re.fullmatch(r"# modules/[a-z0-9][a-z0-9_-]*/module\.yaml", first):
        fields, what = MODULE_FIELDS, "module.yaml"
    else:
        pytest.fail(f'docs/authoring.md:{fence.line}: start a yaml example with "# course.yaml" or '
                    f'"# modules/<module>/module.yaml", so it can be checked')
    diags = Diagnostics()
    validate(yamlsource.load(fence.content), fields, path=what, diags=diags, what=what)
    assert [d.format() for d in diags] == []


def test_example_error_messages_are_real() -> None:
    sources = [ROOT / "tests" / "fixtures" / "lesson_errors.md",
               *(p for p in (ROOT / "tests").glob("test_*.py") if p.name != Path(__file__).name)]
    known = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    shown = [line for f in FENCES if f.info == "text" for line in f.content.splitlines() if DIAGNOSTIC.match(line)]
    assert len(shown) >= 5, "show some real error messages"
    invented = [line for line in shown if line not in known]
    assert not invented, f"messages not found in the compiler's tests: {invented}"
