"""Turn the raw ``:::`` blocks of a lesson into typed blocks, reporting every authoring mistake."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markdown_it.token import Token

from .block_context import BlockContext, col_of, line_of
from .diagnostics import did_you_mean
from .mdext.blocks import RawBlock
from .mdext.references import Ref, resolve
from .model import (
    BLOCK_TYPES,
    Block,
    BlockId,
    Callout,
    Checklist,
    ChecklistItem,
    Option,
    Poll,
    Question,
    Reflection,
    Video,
)
from .poll_scales import SCALE_KEY, ScaleRow, only_scale, parse_scale, scale_rows
from .schema import Field

BLOCK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_MARKER = re.compile(r"^(\(\s?\)|\([xX]\)|\[\s?\]|\[[xX]\])(?:\s+|$)")
_LOOKS_LIKE_MARKER = re.compile(r"^[(\[][^)\]]{0,3}[)\]]")

_ID = Field("id", "Unique in the course; part of the block's activity IRI. Letters, digits, - and _.", "str")
BLOCK_ATTRS: dict[str, tuple[Field, ...]] = {
    "question": (
        _ID,
        Field("max_attempts", "How many times a learner may submit this question; overrides the course.", "int"),
    ),
    "poll": (
        _ID,
        Field("measure", "Tags the poll as a survey measure, e.g. `confidence`, for before/after reports.", "str"),
    ),
    "reflection": (
        _ID,
        Field("min_words", "The fewest words a learner's reflection may have.", "int"),
        Field("share", "`private` (default): only the learner sees it; `team`: their capstone team sees it too.",
              "choice", choices=("private", "team")),
    ),
    "video": (
        _ID,
        Field("src", "The video file, e.g. `../../media/intro.mp4` or `media/intro.mp4`.", "str", required=True),
        Field("captions", "The WebVTT captions file (`.vtt`).", "str", required=True),
        Field("poster", "An image shown before the video plays.", "str"),
    ),
    "checklist": (_ID,),
    "callout": (
        Field("kind", "`note` (default), `tip` or `warning`.", "choice", choices=("note", "tip", "warning")),
        Field("id", "Optional: callouts are not interactive.", "str"),
    ),
}


def _elements(tokens: list[Token]) -> list[list[Token]]:
    """Group a token run into its top-level elements (a paragraph, a list, a fence...)."""
    if not tokens:
        return []
    base = tokens[0].level
    groups: list[list[Token]] = []
    depth = 0
    for token in tokens:
        if depth == 0:
            groups.append([])
        groups[-1].append(token)
        if token.level == base or depth:
            depth += token.nesting
    return groups


def _plain(token: Token) -> str:
    words = [" " if c.type in ("softbreak", "hardbreak") else c.content
             for c in (token.children or []) if c.type in ("text", "code_inline", "softbreak", "hardbreak")]
    return " ".join("".join(words).split())


def _strip_marker(inline: Token, length: int) -> None:
    """Remove an option marker such as ``(x) `` from the start of an inline token."""
    inline.content = inline.content[length:]
    remaining = length
    for child in inline.children or []:
        if remaining <= 0:
            break
        if child.type != "text":
            break
        cut = min(remaining, len(child.content))
        child.content = child.content[cut:]
        remaining -= cut
    if inline.children and inline.children[0].type == "text":
        inline.children[0].content = inline.children[0].content.lstrip()


@dataclass
class _ParsedOption:
    marker: str
    option: Option
    line: int
    feedback_line: int = 0
    """Where its ``> feedback`` starts, or 0 when it has none."""


def _options(ctx: BlockContext, list_tokens: list[Token], *, require_marker: bool) -> list[_ParsedOption] | None:
    """Parse a bullet list of options; None when a line is malformed (already reported)."""
    parsed: list[_ParsedOption] = []
    ok = True
    items = _elements(list_tokens[1:-1])
    for item in items:
        line = line_of(item[0])
        parts = _elements(item[1:-1])
        if not parts or parts[0][0].type != "paragraph_open":
            ctx.error(line, 1, "malformed option: each option is a list item such as \"- ( ) text\"")
            ok = False
            continue
        inline = parts[0][1]
        match = _MARKER.match(inline.content)
        marker = ""
        if match:
            marker = match.group(1).lower().replace(" ", "").replace("()", "( )").replace("[]", "[ ]")
            _strip_marker(inline, match.end())
        elif require_marker or _LOOKS_LIKE_MARKER.match(inline.content):
            col = ctx.lines[line - 1].find(inline.content[:1]) + 1 if line <= len(ctx.lines) else 1
            ctx.error(
                line,
                max(col, 1),
                f'malformed option "{inline.content.splitlines()[0][:40]}": start it with ( ), (x), [ ] or [x]',
            )
            ok = False
            continue
        feedback = ""
        feedback_line = 0
        for part in parts[1:]:
            if part[0].type == "blockquote_open":
                feedback += ctx.render(part[1:-1])
                feedback_line = feedback_line or line_of(part[0])
            else:
                ctx.error(line_of(part[0]) if part[0].map else line, 1,
                          "unexpected content in an option: only an indented \"> feedback\" may follow it")
                ok = False
        if not inline.content.strip():
            ctx.error(line, 1, "option has no text")
            ok = False
        parsed.append(_ParsedOption(marker, Option(ctx.render_inline(inline), _plain(inline),
                                                   marker in ("(x)", "[x]"), feedback), line, feedback_line))
    return parsed if ok else None


def _glued_to_last(ctx: BlockContext, list_tokens: list[Token], what: str, *, hints: bool = False) -> None:
    """Warn of each line that Markdown joins to the last option or item (or its feedback) only because nothing ends
    them: not indented past its bullet (or, in feedback, not starting ">"), with no blank line before it. Text meant
    to follow the list, such as a question's explanation, would be shown as part of the option. With ``hints``, a
    ``hint:`` line is left to the question's own, more exact, error."""
    items = _elements(list_tokens[1:-1])
    if not items:
        return
    bullet = col_of(ctx, line_of(items[-1][0])) - 1
    quoted = 0
    for token in items[-1]:
        quoted += token.nesting if token.type.startswith("blockquote") else 0
        if token.type != "paragraph_open" or not token.map:
            continue
        for line in range(token.map[0] + 2, token.map[1] + 1):
            source = ctx._source(line)
            glued = not source.lstrip().startswith(">") if quoted else col_of(ctx, line) - 1 <= bullet
            if glued and not (hints and _HINT.match(source)):
                part = f"{what}'s feedback" if quoted else what
                ctx.warning(line, col_of(ctx, line), f"this line is read as part of the last {part} above, as it is "
                            "not indented: indent it to keep it there, or put a blank line before it")


def _no_feedback(ctx: BlockContext, parsed: list[_ParsedOption], what: str, instead: str) -> None:
    """Report ``> feedback`` under a poll's option or a checklist's item: only a question shows it."""
    for p in parsed:
        if p.feedback_line:
            ctx.error(p.feedback_line, col_of(ctx, p.feedback_line), f'"> " feedback under a {what} is never shown: '
                      f"only a question's options have feedback ({instead})")


def _first_list(elements: list[list[Token]]) -> int | None:
    """Where a block body's first bullet list is: a question's options, a checklist's items."""
    return next((n for n, element in enumerate(elements) if element[0].type == "bullet_list_open"), None)


def _second_list(ctx: BlockContext, element: list[Token], block: str, shown: str) -> bool:
    """Report a list of options or items after a block's first list (text between them, or a change of bullet, makes
    two lists): it is not read as options or items, but as what ``shown`` says. Whether it was such a list."""
    if element[0].type not in ("bullet_list_open", "ordered_list_open"):
        return False
    items = [_elements(item[1:-1]) for item in _elements(element[1:-1])]
    if not any(parts and parts[0][0].type == "paragraph_open" and _MARKER.match(parts[0][1].content)
               for parts in items):
        return False
    line = line_of(element[0])
    what = "items" if block == "checklist" else "options"
    ctx.error(line, col_of(ctx, line), f"a second list of {what}: a {block} has one list, with nothing between its "
              f'{what} and the same bullet (such as "-") on each; this one would be {shown}')
    return True


_HINT = re.compile(r"^\s*hint:", re.I)


def _paragraph_lines(tokens: list[Token]) -> list[tuple[int, int, bool]]:
    """The source lines of every paragraph in a token run, at any depth: (line, its place in its paragraph from 0,
    whether the paragraph is at the run's top level)."""
    base = tokens[0].level if tokens else 0
    lines = []
    for token in tokens:
        if token.type == "paragraph_open" and token.map:
            for n, line in enumerate(range(token.map[0] + 1, token.map[1] + 1)):
                lines.append((line, n, token.level == base))
    return lines


def _hint_misplaced(ctx: BlockContext, line: int, where: str) -> None:
    ctx.error(line, col_of(ctx, line), f'"hint:" is part of the {where} above: a hint is a line of its own after the '
              "options, with a blank line before and after it")


def _question_hint(ctx: BlockContext, elements: list[list[Token]], options_at: int) -> tuple[str, list[Token]]:
    """The hint's HTML and the explanation's tokens. Only a paragraph after the options that is one line starting
    ``hint:`` is the hint (docs/authoring.md); every other line starting ``hint:`` is reported where it is, as it
    would otherwise be read silently as part of the prompt, an option, its feedback or the explanation."""
    for n, element in enumerate(elements[:options_at]):
        for line, place, top in _paragraph_lines(element):
            # A question opens with its prompt, even one that starts with "Hint:".
            if (n, place, top) != (0, 0, True) and _HINT.match(ctx._source(line)):
                ctx.error(line, col_of(ctx, line), '"hint:" before the options: a hint goes after them, with a blank '
                          "line before and after it (to keep this text in the question, start it with other words)")
    options = elements[options_at]
    quoted = 0
    for token in options:
        quoted += token.nesting if token.type.startswith("blockquote") else 0
        if token.type == "paragraph_open" and token.map:
            for line in range(token.map[0] + 2, token.map[1] + 1):
                if _HINT.match(ctx._source(line)):
                    _hint_misplaced(ctx, line, "option's feedback" if quoted else "option")
    hint: tuple[Token, int] | None = None
    explanation: list[Token] = []
    for element in elements[options_at + 1:]:
        first = line_of(element[0])
        if element[0].type == "paragraph_open" and _HINT.match(ctx._source(first)):
            for line, place, _ in _paragraph_lines(element):
                if place and _HINT.match(ctx._source(line)):
                    _hint_misplaced(ctx, line, "hint")
                elif place == 1:
                    ctx.error(line, col_of(ctx, line), "the hint goes on to this line: a hint is one line, with a "
                              "blank line after it (join the lines, or put a blank line before the explanation)")
            if hint is not None:
                ctx.error(first, col_of(ctx, first), f'"hint:" is given twice (first on line {hint[1]}): a question '
                          "has one hint")
                continue
            hint = (element[1], first)
            if not re.sub(r"^\s*hint:", "", element[1].content, flags=re.I).strip():
                ctx.error(first, col_of(ctx, first), 'the hint is empty: write it after "hint:"')
            elif explanation:
                ctx.warning(first, col_of(ctx, first), "this hint is after the explanation: it is still the hint, "
                            "shown before the learner answers; put it straight after the options")
        else:
            for line, place, top in _paragraph_lines(element):
                if (place or not top) and _HINT.match(ctx._source(line)):
                    _hint_misplaced(ctx, line, "explanation")
            explanation.extend(element)
    if hint is None:
        return "", explanation
    inline = hint[0]
    # Render the already-parsed tokens: parsing the text again would record its links twice.
    prefix = re.match(r"^\s*hint:\s*", inline.content, re.I)
    _strip_marker(inline, prefix.end() if prefix else 0)
    return ctx.render_inline(inline), explanation


def _question(ctx: BlockContext, raw: RawBlock, attrs: dict[str, Any], block_id: str) -> Block | None:
    elements = _elements(raw.tokens)
    options_at = _first_list(elements)
    before = [t for e in elements[:options_at] for t in e]
    if not before:
        ctx.error(raw.line, 1, "question has no prompt: write the question before its options")
    if options_at is None:
        ctx.error(raw.line, 1, "question has no options: add a list of \"- ( ) text\" lines")
        return None
    hint_html, after = _question_hint(ctx, elements, options_at)
    for element in elements[options_at + 1:]:
        _second_list(ctx, element, "question", "shown as text in the explanation, not as options")
    _glued_to_last(ctx, elements[options_at], "option", hints=True)
    parsed = _options(ctx, elements[options_at], require_marker=True)
    if parsed is None:
        return None
    single = [p for p in parsed if p.marker.startswith("(")]
    if single and len(single) != len(parsed):
        ctx.error(parsed[0].line, 1, "question mixes single-choice ( ) and multiple-choice [ ] options")
        return None
    if len(parsed) < 2:
        ctx.error(raw.line, 1, "question needs at least two options")
    with_feedback = [p for p in parsed if p.option.feedback_html]
    if with_feedback and len(with_feedback) < len(parsed):
        for p in parsed:
            if not p.option.feedback_html:
                ctx.warning(p.line, 1, "this option has no feedback while others do: add an indented \"> \" line "
                            "under it")
    correct = [p for p in parsed if p.option.correct]
    if not correct:
        ctx.error(raw.line, 1, "question has no correct option: mark one with (x) or [x]")
    elif single and len(correct) > 1:
        ctx.error(correct[1].line, 1,
                  "single-choice question has more than one correct option: use [ ] and [x] for multiple choice")
    return Question(
        id=block_id, iri=ctx.iri_prefix + block_id, line=raw.line, prompt_html=ctx.render(before),
        multiple=not single, options=[p.option for p in parsed], hint_html=hint_html,
        explanation_html=ctx.render(after), max_attempts=attrs.get("max_attempts"),
    )


def _poll(ctx: BlockContext, raw: RawBlock, attrs: dict[str, Any], block_id: str) -> Block | None:
    rows: list[ScaleRow] = []
    before: list[Token] = []
    options_list: list[Token] | None = None
    trailing: list[tuple[list[Token], str]] = []  # each element after the options or scale, and which it follows
    opening: ScaleRow | None = None
    for element in _elements(raw.tokens):
        if element[0].type == "paragraph_open" and SCALE_KEY.match(element[1].content):
            found = scale_rows(ctx, element)
            if not before and not rows and options_list is None:
                # The poll opens with its prompt, even one that starts with "Scale:" or "Labels:" (as a question's
                # first paragraph is its prompt, even one that starts with "hint:"), unless that paragraph can
                # only be a scale: then the prompt is missing or misplaced, which is reported below.
                if not only_scale(found):
                    before.extend(element)
                    continue
                opening = found[0]
            rows += found
        elif element[0].type == "bullet_list_open" and options_list is None:
            options_list = element
        elif options_list is not None or rows:
            # The prompt is shown above the options or scale, so text after them was moved there (after a scale)
            # or dropped (after options), without a word.
            trailing.append((element, "options" if options_list is not None else "scale"))
        else:
            before.extend(element)
    if opening is None:
        for element, what in trailing:
            if what == "options" and _second_list(ctx, element, "poll", "left out"):
                continue
            line = line_of(element[0])
            ctx.error(line, col_of(ctx, line), f"text after the poll's {what}: a poll ends with its {what} (put this "
                      f"text in the prompt, above {'them' if what == 'options' else 'it'}, or after the block)")
    if opening is not None:
        ctx.error(opening.line, opening.col, f'poll has no prompt before its "{opening.key}:" line: a poll opens with '
                  "its question, then its options or scale")
    elif not before:
        ctx.error(raw.line, 1, "poll has no prompt: write the question before its options or scale")
    scale = parse_scale(ctx, rows) if rows else None
    options: list[Option] = []
    multiple = False
    if options_list is not None:
        if rows:
            ctx.error(rows[0].line, rows[0].col, "a poll has either options or a scale, not both")
            return None
        _glued_to_last(ctx, options_list, "option")
        parsed = _options(ctx, options_list, require_marker=False)
        if parsed is None:
            return None
        for p in parsed:
            if p.option.correct:
                ctx.error(p.line, 1, "a poll has no right answer: use ( ) or [ ] for every option")
        _no_feedback(ctx, parsed, "poll's option", "put it in the prompt, or after the block")
        multiple = any(p.marker.startswith("[") for p in parsed)
        if multiple and any(p.marker.startswith("(") for p in parsed):
            ctx.error(parsed[0].line, 1, "poll mixes single-choice ( ) and multiple-choice [ ] options")
        if len(parsed) < 2:
            ctx.error(raw.line, 1, "poll needs at least two options")
        options = [p.option for p in parsed]
    elif not rows:
        ctx.error(raw.line, 1, "poll has no options: add a list of options or a line such as \"scale: 1-5\"")
        return None
    return Poll(id=block_id, iri=ctx.iri_prefix + block_id, line=raw.line, prompt_html=ctx.render(before),
                multiple=multiple, options=options, scale=scale, measure=attrs.get("measure") or "")


def _reflection(ctx: BlockContext, raw: RawBlock, attrs: dict[str, Any], block_id: str) -> Block | None:
    prompt = ctx.render(raw.tokens)
    if not prompt:
        ctx.error(raw.line, 1, "reflection has no prompt")
    return Reflection(id=block_id, iri=ctx.iri_prefix + block_id, line=raw.line, prompt_html=prompt,
                      min_words=attrs.get("min_words") or 0, share=attrs.get("share") or "private")


def _media(ctx: BlockContext, raw: RawBlock, value: str, name: str) -> str:
    resolved = resolve(ctx.path, value)
    col = next((a.col for a in raw.attrs if a.name == name), 1)
    if resolved is None or resolved[0] == "lesson":
        ctx.error(raw.line, col, f'{name}= must be a relative path to a file in the course\'s media folder')
        return value
    kind, target = resolved
    ctx.refs.append(Ref(kind, target, raw.line, col))
    return target


def _video(ctx: BlockContext, raw: RawBlock, attrs: dict[str, Any], block_id: str) -> Block | None:
    transcript = ctx.render(raw.tokens)
    if not transcript:
        ctx.error(raw.line, 1, "video without transcript: write the full transcript inside the block")
    src = _media(ctx, raw, attrs["src"], "src") if attrs.get("src") else ""
    captions = _media(ctx, raw, attrs["captions"], "captions") if attrs.get("captions") else ""
    if captions and not captions.lower().endswith(".vtt"):
        col = next((a.col for a in raw.attrs if a.name == "captions"), 1)
        ctx.error(raw.line, col, "captions= must be a WebVTT file ending in .vtt")
    poster = _media(ctx, raw, attrs["poster"], "poster") if attrs.get("poster") else ""
    return Video(id=block_id, iri=ctx.iri_prefix + block_id, line=raw.line, src=src, captions=captions,
                 poster=poster, transcript_html=transcript)


def _checklist(ctx: BlockContext, raw: RawBlock, attrs: dict[str, Any], block_id: str) -> Block | None:
    elements = _elements(raw.tokens)
    at = _first_list(elements)
    if at is None:
        ctx.error(raw.line, 1, "checklist has no items: add a list of \"- [ ] task\" lines")
        return None
    for element in elements[at + 1:]:
        _second_list(ctx, element, "checklist", "shown as text, not as items to tick")
    _glued_to_last(ctx, elements[at], "item")
    parsed = _options(ctx, elements[at], require_marker=False)
    if parsed is None:
        return None
    _no_feedback(ctx, parsed, "checklist item", "put it in the item, or in the text before or after the list")
    for p in parsed:
        if p.marker.startswith("("):
            ctx.error(p.line, 1, "checklist items use [ ], not ( )")
        elif p.marker == "[x]":
            ctx.warning(p.line, 1, "checklist items start unticked: the learner ticks them; use [ ]")
    # Text before the items is shown above them, and text after them below them: each where the author put it.
    return Checklist(id=block_id, iri=ctx.iri_prefix + block_id, line=raw.line,
                     prompt_html=ctx.render([t for e in elements[:at] for t in e]),
                     items=[ChecklistItem(p.option.html, p.option.text) for p in parsed],
                     after_html=ctx.render([t for e in elements[at + 1:] for t in e]))


def _callout(ctx: BlockContext, raw: RawBlock, attrs: dict[str, Any], block_id: str) -> Block | None:
    body = ctx.render(raw.tokens)
    if not body:
        ctx.error(raw.line, 1, "callout is empty")
    return Callout(id=block_id, iri="", line=raw.line, kind=attrs.get("kind") or "note", body_html=body)


_BUILDERS: dict[str, Callable[[BlockContext, RawBlock, dict[str, Any], str], Block | None]] = {
    "question": _question,
    "poll": _poll,
    "reflection": _reflection,
    "video": _video,
    "checklist": _checklist,
    "callout": _callout,
}


def _attributes(ctx: BlockContext, raw: RawBlock) -> tuple[dict[str, Any], bool]:
    """The block's attribute values that are valid, and whether all of them were."""
    fields = {f.name: f for f in BLOCK_ATTRS[raw.type]}
    values: dict[str, Any] = {}
    ok = True
    for attr in raw.attrs:
        field = fields.get(attr.name)
        if field is None:
            ctx.error(raw.line, attr.col,
                      f'unknown attribute "{attr.name}" on {raw.type}{did_you_mean(attr.name, fields)}')
            ok = False
            continue
        if attr.name in values:
            ctx.error(raw.line, attr.col, f'attribute "{attr.name}" is given twice')
            ok = False
            continue
        value: Any = attr.value
        if field.kind == "int":
            if not re.fullmatch(r"[0-9]{1,9}", attr.value):  # ASCII digits: int() reads others, and 5,000 fail
                ctx.error(raw.line, attr.col, f'{attr.name}= must be a whole number; got "{attr.value}"')
                ok = False
                continue
            value = int(attr.value)
            if attr.name == "max_attempts" and value < 1:
                ctx.error(raw.line, attr.col, "max_attempts= must be 1 or more")
                ok = False
                continue
        elif field.kind == "choice" and attr.value not in field.choices:
            ctx.error(raw.line, attr.col, f'{attr.name}= must be one of: {", ".join(field.choices)}; '
                      f'got "{attr.value}"{did_you_mean(attr.value, field.choices)}')
            ok = False
            continue
        elif not attr.value:
            ctx.error(raw.line, attr.col, f"{attr.name}= has no value")
            ok = False
            continue
        values[attr.name] = value
    for field in fields.values():
        if field.required and field.name not in values:
            ctx.error(raw.line, raw.type_col, f'{raw.type} is missing required attribute {field.name}=')
            ok = False
    return values, ok


def build_block(ctx: BlockContext, raw: RawBlock) -> Block | None:
    """The typed block for one ``:::`` container, or None when it has errors (all reported)."""
    if not raw.closed:
        ctx.error(raw.line, 1, f'unclosed block "{raw.type or ":::"}": end it with a line of ":::"')
    if not raw.type:
        ctx.error(raw.line, raw.type_col, 'block has no type: write e.g. "::: question id=..."')
        return None
    if raw.type not in _BUILDERS:
        ctx.error(raw.line, raw.type_col,
                  f'unknown block type "{raw.type}"{did_you_mean(raw.type, BLOCK_TYPES)}; '
                  f'known types: {", ".join(BLOCK_TYPES)}')
        return None
    if raw.header_error:
        ctx.error(raw.line, raw.header_error_col or raw.type_col, raw.header_error)
        return None
    for line in raw.nested:
        ctx.error(line, 1, f"blocks cannot be nested: close the {raw.type} block before starting another")
    attrs, ok = _attributes(ctx, raw)
    block_id = attrs.get("id", "")
    if raw.type != "callout":
        id_col = next((a.col for a in raw.attrs if a.name == "id"), raw.type_col)
        if not block_id and not any(a.name == "id" for a in raw.attrs):
            ctx.error(raw.line, raw.type_col, f"{raw.type} block without id: add id=<a name unique in the course>")
            ok = False
        elif block_id and not BLOCK_ID.match(block_id):
            ctx.error(raw.line, id_col, f'block id "{block_id}" may use only letters, digits, - and _')
            ok = False
        elif block_id:
            ctx.ids.append(BlockId(block_id, raw.line, id_col))
    if raw.nested:
        return None
    # Build even a block with bad attributes, so its body's problems are reported in the same run.
    block = _BUILDERS[raw.type](ctx, raw, attrs, block_id)
    return block if ok else None
