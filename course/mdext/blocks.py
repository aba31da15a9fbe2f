"""``:::`` colon-fenced blocks lifted out of the token stream.

Every ``::: type attrs`` container becomes one ``mc_block`` token that renders as
a placeholder; its header and inner tokens go to ``env["mc_blocks"]`` for the
compiler to turn into typed blocks. Keeping the inner tokens out of the lesson
HTML is what keeps answers and feedback off the page.
"""

from __future__ import annotations

import re
import shlex
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
    nested: list[int] = field(default_factory=list)
    """1-based lines of blocks opened inside this one (not allowed)."""


def parse_header(info: str, col: int) -> tuple[str, int, list[Attr], str]:
    """Split ``question id=x share=team`` into its type and attributes, keeping columns."""
    stripped = info.lstrip()
    col += len(info) - len(stripped)
    if not stripped:
        return "", col, [], ""
    type_name, _, rest = stripped.partition(" ")
    attrs: list[Attr] = []
    offset = col + len(type_name) + 1
    try:
        lexer = shlex.shlex(rest, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        words = list(lexer)
    except ValueError:
        return type_name, col, [], "unclosed quote in the block's attributes"
    search_from = 0
    for word in words:
        name, eq, value = word.partition("=")
        at = rest.find(name, search_from)
        search_from = max(at, 0) + len(name)
        if not eq:
            return type_name, col, attrs, f'attribute "{word}" must be written name=value'
        attrs.append(Attr(name, value, offset + max(at, 0)))
    return type_name, col, attrs, ""


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
            type_name, type_col, attrs, problem = parse_header(token.info, col)
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
