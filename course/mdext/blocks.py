"""``:::`` colon-fenced blocks lifted out of the token stream.

Every ``::: type attrs`` container becomes one ``mc_block`` token that renders as
a placeholder; its header and inner tokens go to ``env["mc_blocks"]`` for the
compiler to turn into typed blocks. Keeping the inner tokens out of the lesson
HTML is what keeps answers and feedback off the page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererProtocol
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.container import container_plugin

from ..model import PLACEHOLDER

_CLOSE = re.compile(r"^\s{0,3}(:{3,})\s*$")


@dataclass
class Attr:
    name: str
    value: str
    col: int
    """1-based column of the attribute in its line."""


@dataclass
class RawBlock:
    type: str
    type_col: int
    attrs: list[Attr]
    line: int
    """1-based line of the opening ``:::``."""
    end_line: int
    closed: bool
    tokens: list[Token]
    header_error: str = ""
    header_error_col: int = 0
    nested: list[int] = field(default_factory=list)
    """1-based lines of blocks opened inside this one (not allowed)."""


_SPACE = " \t\r\n"
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'', re.S)


def _words(rest: str) -> tuple[list[tuple[int, str]], int]:
    """The space-separated words of ``rest`` with their offsets (quotes keep spaces in), and the offset of a quote
    left open (-1 if none)."""
    words: list[tuple[int, str]] = []
    i = 0
    while i < len(rest):
        if rest[i] in _SPACE:
            i += 1
            continue
        start = i
        while i < len(rest) and rest[i] not in _SPACE:
            if rest[i] in "\"'":
                quoted = _QUOTED.match(rest, i)
                if quoted is None:
                    return words, i
                i = quoted.end()
            else:
                i += 1
        words.append((start, rest[start:i]))
    return words, -1


def parse_header(info: str, col: int) -> tuple[str, int, list[Attr], str, int]:
    """Split ``question id=x share=team`` into its type and attributes, keeping columns; the last two are a problem
    with the attributes and its column (``""`` and 0 when there is none)."""
    stripped = info.lstrip()
    col += len(info) - len(stripped)
    if not stripped:
        return "", col, [], "", 0
    type_name, _, rest = stripped.partition(" ")
    attrs: list[Attr] = []
    offset = col + len(type_name) + 1
    words, open_quote = _words(rest)
    for at, word in words:
        name, eq, value = word.partition("=")
        if not eq or not name:
            return type_name, col, attrs, f'attribute "{word}" must be written name=value', offset + at
        if "\"" in name or "'" in name:
            return type_name, col, attrs, f"malformed attribute {word}: only a value may be quoted", offset + at
        # A value is quoted whole or not at all: shlex took id=r"x"y for "rxy", which no author means.
        quoted = _QUOTED.fullmatch(value)
        if quoted is None and ("\"" in value or "'" in value):
            return (type_name, col, attrs, f"malformed value for {name}=: put quotes around all of it or none of it",
                    offset + at + len(name) + 1)
        if quoted is not None:
            value = re.sub(r'\\(["\\])', r"\1", quoted.group(1)) if quoted.group(2) is None else quoted.group(2)
        attrs.append(Attr(name, value, offset + at))
    if open_quote >= 0:
        return type_name, col, attrs, "unclosed quote in the block's attributes", offset + open_quote
    return type_name, col, attrs, "", 0


def blocks_plugin(md: MarkdownIt) -> None:
    """Parse every ``:::`` container and lift it into ``env["mc_blocks"]``."""
    container_plugin(md, "block", validate=lambda params, markup: True)

    def lift(state: StateCore) -> None:
        lines = state.src.split("\n")
        blocks: list[RawBlock] = state.env.setdefault("mc_blocks", [])
        out: list[Token] = []
        tokens = state.tokens
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token.type != "container_block_open":
                out.append(token)
                i += 1
                continue
            depth, j, nested = 1, i + 1, []
            while j < len(tokens) and depth:
                if tokens[j].type == "container_block_open":
                    depth += 1
                    nested.append((tokens[j].map or [0])[0] + 1)
                elif tokens[j].type == "container_block_close":
                    depth -= 1
                j += 1
            start, end = token.map or [0, 0]
            closed = end < len(lines) and bool(_CLOSE.match(lines[end]))
            opening = lines[start] if start < len(lines) else ""
            col = len(opening) - len(opening.lstrip()) + len(token.markup) + 1
            type_name, type_col, attrs, problem, problem_col = parse_header(token.info, col)
            blocks.append(
                RawBlock(
                    type=type_name,
                    type_col=type_col,
                    attrs=attrs,
                    line=start + 1,
                    end_line=end + 1,
                    closed=closed,
                    tokens=tokens[i + 1 : j - 1],
                    header_error=problem,
                    header_error_col=problem_col,
                    nested=nested,
                )
            )
            placeholder = Token("mc_block", "", 0)
            placeholder.block = True
            placeholder.map = token.map
            placeholder.meta = {"index": len(blocks) - 1}
            out.append(placeholder)
            i = j
        state.tokens = out

    md.core.ruler.push("mc_blocks", lift)

    def render(
        self: RendererProtocol, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return PLACEHOLDER.format(index=tokens[idx].meta["index"]) + "\n"

    md.add_render_rule("mc_block", render)
