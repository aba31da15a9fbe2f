"""Compile one lesson file: front matter, Markdown body and blocks, into a :class:`Lesson`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererProtocol
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from . import yamlsource
from .block_context import BlockContext
from .blocks import build_block
from .diagnostics import Diagnostics
from .links import path_problem
from .mdext.blocks import RawBlock, blocks_plugin
from .mdext.references import Ref, references_plugin
from .model import PLACEHOLDER, Block, Lesson, Question, Reference
from .schema import LESSON_FIELDS, parse_duration, validate

COMPILER_VERSION = "6"
"""Bump when compiled output changes shape, or a lesson once compiled without an error may now have one (3: a
poll's scale lines; 4: a poll opens with its prompt; 5: a question's hint is only the hint line after its options,
nothing follows a poll's options or scale, a block has one list of options or items, only a question's options have
feedback, and a line glued to the last option is warned of; 6: a checklist keeps its text after the items apart, in
``after_html``, where it was part of the prompt), so cached lessons are rebuilt: a build taking them from an earlier
build's output would keep them as they were."""


def make_markdown() -> MarkdownIt:
    """The lesson parser. HTML parsing stays on so that raw HTML can be found and reported."""
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    front_matter_plugin(md)
    # Only presentational attributes: no style, and never an event handler, even when raw HTML is off.
    attrs_plugin(md, allowed=["id", "class", "width", "height", "lang", "title"])
    references_plugin(md)
    blocks_plugin(md)

    def placeholder(
        self: RendererProtocol, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        index = env.get("mc_index", {}).get(tokens[idx].meta["index"])
        return "" if index is None else PLACEHOLDER.format(index=index) + "\n"

    md.add_render_rule("mc_block", placeholder)
    return md


def source_hash(source: bytes, *, path: str, iri_prefix: str) -> str:
    digest = hashlib.sha256(f"{COMPILER_VERSION}\0{path}\0{iri_prefix}\0".encode())
    digest.update(source)
    return digest.hexdigest()[:24]


def _all_tokens(tokens: list[Token], raws: list[RawBlock]) -> Iterator[tuple[Token, list[int] | None]]:
    """Every token, with the lines of the block an inline token is in (the block's own ``map``)."""
    for token in [*tokens, *(t for raw in raws for t in raw.tokens)]:
        yield token, token.map
        for child in token.children or []:
            yield child, token.map


def compile_lesson(
    source: str,
    *,
    md: MarkdownIt,
    path: str,
    module: str,
    slug: str,
    course_iri: str,
    allow_html: bool,
    digest: str,
) -> Lesson:
    """Compile a lesson. Problems are kept on the lesson, so a cached lesson keeps its warnings."""
    diags = Diagnostics()
    lines = source.split("\n")
    iri = f"{course_iri.rstrip('/')}/{module}/{slug}"
    env: dict[str, Any] = {"mc_lesson_path": path}
    try:
        tokens = md.parse(source, env)
    except Exception as exc:  # markdown-it should never fail, but an author must not see a traceback
        diags.error(path, 1, 1, f"could not parse this lesson: {exc}")
        tokens = []

    front: Any = None
    meta: dict[str, Any] = {f.name: f.default for f in LESSON_FIELDS}
    if tokens and tokens[0].type == "front_matter":
        try:
            front = yamlsource.load(tokens[0].content, line_offset=1)
        except yamlsource.YamlError as exc:
            diags.error(path, exc.line, exc.col, exc.message, lines[exc.line - 1] if exc.line <= len(lines) else "")
        else:
            meta = validate(front, LESSON_FIELDS, path=path, diags=diags, what="the lesson's front matter",
                            at=yamlsource.Pos(2, 1))
    else:
        diags.error(path, 1, 1, 'lesson has no front matter: start the file with "---", "title: ...", "---"')

    raws: list[RawBlock] = env.get("mc_blocks", [])
    refs: list[Ref] = env.get("mc_refs", [])
    ctx = BlockContext(md=md, env=env, path=path, lines=lines, iri_prefix=iri + "/", diags=diags, refs=refs)
    blocks: list[Block] = []
    index: dict[int, int] = {}
    for n, raw in enumerate(raws):
        block = build_block(ctx, raw)
        if block is not None:
            index[n] = len(blocks)
            blocks.append(block)
    env["mc_index"] = index

    if not allow_html:
        for line, col in raw_html(tokens, raws, lines):
            diags.error(path, line, col,
                        "raw HTML is turned off: use Markdown, or set allow_html: true in course.yaml",
                        lines[line - 1] if line <= len(lines) else "")
    for token, _lines_of in _all_tokens(tokens, raws):
        if token.type == "heading_open" and token.tag == "h1":
            line = (token.map or [0])[0] + 1
            diags.warning(path, line, 1, "the lesson title comes from its front matter: start headings at ##",
                          lines[line - 1])

    for ref in refs:
        if problem := path_problem(ref):
            diags.error(path, ref.line, ref.col, problem, lines[ref.line - 1] if ref.line <= len(lines) else "")

    html = md.renderer.render(tokens, md.options, env)
    complete_when = meta["complete_when"]
    answerable = any(b.type in ("question", "poll") for b in blocks)
    if complete_when is None:
        complete_when = "answered" if answerable else "viewed"
    else:
        at = front.at_value("complete_when") if isinstance(front, yamlsource.LocatedDict) else yamlsource.Pos(2, 1)
        if complete_when == "passed" and not any(isinstance(b, Question) for b in blocks):
            diags.error(path, at.line, at.col, "complete_when: passed needs at least one question in the lesson")
        elif complete_when == "answered" and not answerable:
            diags.warning(path, at.line, at.col, "complete_when: answered, but the lesson has no question or poll")
    duration = parse_duration(meta["duration"]) if meta["duration"] is not None else None
    return Lesson(
        id=slug,
        module=module,
        file=path,
        title=meta["title"] or slug,
        iri=iri,
        complete_when=complete_when,
        duration=duration,
        blocks=blocks,
        html=html,
        source_hash=digest,
        references=[Reference("lesson" if r.kind == "lesson" else "media", r.target, r.line, r.col)
                    for r in refs if r.kind in ("lesson", "media")],
        diagnostics=diags.sorted(),
        block_ids=ctx.ids,
    )


def raw_html(tokens: list[Token], raws: list[RawBlock], lines: list[str]) -> Iterator[tuple[int, int]]:
    """Where each piece of raw HTML in parsed Markdown (``lines``) is, blocks' insides included: (line, col)."""
    searched: dict[tuple[int, int], int] = {}
    """Inline HTML found so far in each block (by its lines): where to look for the next piece."""
    for token, lines_of in _all_tokens(tokens, raws):
        if token.type in ("html_block", "html_inline"):
            line = (token.map or [0])[0] + 1 if token.map else _find_line(lines, token.content, lines_of, searched)
            col = max(lines[line - 1].find(token.content.strip()[:20]) + 1, 1) if line <= len(lines) else 1
            yield line, col


def _find_line(lines: list[str], content: str, block: list[int] | None, searched: dict[tuple[int, int], int]
               ) -> int:
    """The line of a piece of inline HTML: searched for in its own block's lines only, from where the last piece
    of that block was found (the whole lesson for every piece took minutes on a long one, and two pieces alike
    were both put on the first's line)."""
    needle = content.strip()[:20]
    start, end = (block[0], block[1]) if block else (0, len(lines))
    key = (start, end)
    for n in range(searched.get(key, start), min(end, len(lines))):
        if needle and needle in lines[n]:
            searched[key] = n  # the same line may hold the next piece too
            return n + 1
    return start + 1
