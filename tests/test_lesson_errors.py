"""Each authoring mistake in a lesson gets its exact located message (fixtures in lesson_errors.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it.utils import read_fixture_file

from course import build
from helpers import make_course

FIXTURES = Path(__file__).parent / "fixtures" / "lesson_errors.md"


@pytest.mark.parametrize(
    ("line", "title", "source", "expected"),
    read_fixture_file(FIXTURES),
    ids=[case[1] for case in read_fixture_file(FIXTURES)],
)
def test_lesson_error(tmp_path: Path, line: int, title: str, source: str, expected: str) -> None:
    result = build(make_course(tmp_path, lesson=source))
    assert [d.format() for d in result.diagnostics] == expected.splitlines()
    assert result.ok is not any(d.severity == "error" for d in result.diagnostics)
