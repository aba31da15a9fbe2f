"""The Markdown extensions, each tested on its own with .md fixtures (input, then expected HTML)."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.utils import read_fixture_file

from course.mdext.blocks import blocks_plugin, parse_header
from course.mdext.references import references_plugin

FIXTURES = Path(__file__).parent / "fixtures"


def cases(name: str) -> list[list[object]]:
    return read_fixture_file(FIXTURES / name)


@pytest.mark.parametrize(("line", "title", "source", "expected"), cases("blocks_plugin.md"),
                         ids=[c[1] for c in cases("blocks_plugin.md")])
def test_blocks_plugin(line: int, title: str, source: str, expected: str) -> None:
    md = MarkdownIt("commonmark").use(blocks_plugin)
    env: dict[str, object] = {}
    assert md.render(source, env) == expected


@pytest.mark.parametrize(("line", "title", "source", "expected"), cases("references_plugin.md"),
                         ids=[c[1] for c in cases("references_plugin.md")])
def test_references_plugin(line: int, title: str, source: str, expected: str) -> None:
    md = MarkdownIt("commonmark").use(references_plugin)
    env = {"mc_lesson_path": "modules/02-ideas/010-start.md"}
    assert md.render(source, env) == expected


def test_header_keeps_columns_and_quoted_values() -> None:
    kind, col, attrs, problem, _ = parse_header(' video id=v src="media/my clip.mp4"', 4)
    assert (kind, col, problem) == ("video", 5, "")
    assert [(a.name, a.value, a.col) for a in attrs] == [("id", "v", 11), ("src", "media/my clip.mp4", 16)]


@pytest.mark.parametrize(("info", "attrs", "problem"), [
    (' poll id=p title="say \\"hi\\"" x=\'a "b"\'', [("id", "p"), ("title", 'say "hi"'), ("x", 'a "b"')], ("", 0)),
    (" video src=media\\clip.mp4", [("src", "media\\clip.mp4")], ("", 0)),  # a backslash is itself outside quotes
    (' poll id=r"x"y', [], ("malformed value for id=: put quotes around all of it or none of it", 13)),
    (" poll id=\"x\" m='y'z", [("id", "x")], ("malformed value for m=: put quotes around all of it or none of it", 19)),
    (' poll id="a""b"', [], ("malformed value for id=: put quotes around all of it or none of it", 13)),
    (" poll i'd'=x", [], ("malformed attribute i'd'=x: only a value may be quoted", 10)),
    (' poll "id=x"', [], ('malformed attribute "id=x": only a value may be quoted', 10)),
    (" poll id=p =x", [("id", "p")], ('attribute "=x" must be written name=value', 15)),
    (' poll id=p m="open', [("id", "p")], ("unclosed quote in the block's attributes", 17)),
])
def test_header_values_are_quoted_whole_or_not_at_all(info: str, attrs: list[tuple[str, str]],
                                                      problem: tuple[str, int]) -> None:
    _kind, _col, found, message, col = parse_header(info, 4)
    assert [(a.name, a.value) for a in found] == attrs
    assert (message, col) == problem
