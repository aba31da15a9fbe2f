"""What parsing one lesson's blocks shares: the Markdown parser, where the text came from, and where problems go."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .diagnostics import Diagnostics
from .mdext.references import Ref
from .model import BlockId


@dataclass
class BlockContext:
    md: MarkdownIt
    env: dict[str, Any]
    path: str
    lines: list[str]
    iri_prefix: str
    diags: Diagnostics
    refs: list[Ref]
    ids: list[BlockId] = field(default_factory=list)
    """The ids of the interactive blocks, whether or not they built."""

    def error(self, line: int, col: int, message: str) -> None:
        self.diags.error(self.path, line, col, message, self._source(line))

    def warning(self, line: int, col: int, message: str) -> None:
        self.diags.warning(self.path, line, col, message, self._source(line))

    def _source(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def render(self, tokens: list[Token]) -> str:
        return str(self.md.renderer.render(tokens, self.md.options, self.env)).strip()

    def render_inline(self, token: Token) -> str:
        renderer: Any = self.md.renderer
        return str(renderer.renderInline(token.children or [], self.md.options, self.env)).strip()


def line_of(token: Token) -> int:
    """The source line a block-level token starts on, from 1."""
    return (token.map or [0])[0] + 1


def col_of(ctx: BlockContext, line: int) -> int:
    """The column, from 1, where the text of source line ``line`` starts."""
    source = ctx._source(line)
    return len(source) - len(source.lstrip()) + 1
