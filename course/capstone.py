"""The capstone team project section of course.yaml: validated with located errors, compiled to a model."""

from __future__ import annotations

import posixpath
from collections.abc import Collection
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from . import yamlsource
from .blocks import BLOCK_ID
from .diagnostics import Diagnostics, did_you_mean
from .lesson import raw_html
from .links import is_course_file, path_problem, target_problem
from .mdext.blocks import RawBlock
from .model import Capstone, Stage
from .schema import Field, validate

STAGE_PAGE_TO_COURSE = "../../../"
"""From a stage's page, ``/{course}/capstone/teams/{team}/{stage}``, to the course's own URL: the base of the URLs
that guidance's links to lessons and media are rewritten to."""
RESERVED_STAGE_IDS = frozenset({"progress", "hide", "leave"})
"""Stage ids that would clash with the team's own pages under /{course}/capstone/teams/{team}/."""
STAGE_KINDS: dict[str, str] = {
    "ideas": "Members post ideas (title, the problem, the change); others comment and vote.",
    "decision": "The team records the small change it agreed, the ideas it came from and why; agreed when a "
                "majority of members confirm.",
    "plan": "Hypothesis, what will change, the measures (unit and baseline), start and review dates.",
    "measurements": "Dated values per measure, with notes, charted against the baseline.",
    "reflection": "Each member's reflection: what worked, what did not, what they would tell another team.",
    "case_study": "The team's write-up, submitted when a majority confirms, then published to the gallery.",
}
"""Each kind of stage, in the order a team meets them."""

COMPLETE_WHEN: dict[str, dict[str, str]] = {
    "ideas": {"ideas_per_member": "each member has posted at least this many ideas (default 1)",
              "ideas": "the team has posted at least this many ideas"},
    "decision": {},
    "plan": {},
    "measurements": {"measurements": "at least this many measurements are recorded (default 1)"},
    "reflection": {"reflections": "`all_members` (default) or a number of members who have reflected"},
    "case_study": {},
}
"""The completion rules each kind takes; kinds without one complete when their step is done (agreed, saved,
published)."""

CAPSTONE_FIELDS: tuple[Field, ...] = (
    Field("title", "The project's title, shown on the course home.", "str", required=True),
    Field("team_size", "`{min: 2, max: 8}`: how many members a team may have.", "mapping",
          default={"min": 2, "max": 8}),
    Field("same_department", "`true` when every member of a team must be from one department.", "bool",
          default=False),
    Field("stages", "The stages, in order; each has `id`, `kind`, `title`, and optional `complete_when` and "
          "`guidance`.", "list", required=True),
)

STAGE_FIELDS: tuple[Field, ...] = (
    Field("id", "Unique among the stages, and not `progress`, `hide` or `leave` (the team's pages use them); "
          "part of the stage's activity IRI. Letters, digits, - and _.", "str", required=True),
    Field("kind", "One of: " + ", ".join(STAGE_KINDS) + ".", "choice", required=True, choices=tuple(STAGE_KINDS)),
    Field("title", "The stage's title.", "str", required=True),
    Field("complete_when", "The stage's completion rule (depends on its kind).", "mapping", default=None),
    Field("guidance", "Markdown shown on the stage's page: a path to a `.md` file in the course folder, or the "
          "Markdown itself.", "str", default=""),
)


def compile_capstone(raw: Any, *, root: Path, course_iri: str, pos: yamlsource.Pos, diags: Diagnostics,
                     md: MarkdownIt, lesson_files: Collection[str], yaml_text: str) -> Capstone | None:
    """The capstone model, or None when the section has errors (every one reported). ``lesson_files`` are the
    course's lessons, which guidance may link to; ``yaml_text`` is course.yaml, to locate problems in guidance
    written in it."""
    path = "course.yaml"
    yaml_lines = yaml_text.split("\n")
    before = len(diags.errors)
    values = validate(raw, CAPSTONE_FIELDS, path=path, diags=diags, what="capstone", at=pos)
    size = values["team_size"] or {}
    size_pos = raw.at_value("team_size") if isinstance(raw, yamlsource.LocatedDict) else pos
    low, high = size.get("min", 2), size.get("max", 8)
    if set(size) - {"min", "max"}:
        key = sorted(set(size) - {"min", "max"})[0]
        diags.error(path, size_pos.line, size_pos.col,
                    f'unknown key "{key}" in team_size{did_you_mean(key, ["min", "max"])}')
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) or not 1 <= low <= high:
        diags.error(path, size_pos.line, size_pos.col, "team_size needs whole numbers with 1 <= min <= max")
        low, high = 2, 8
    stages: list[Stage] = []
    raw_stages = raw.get("stages") if isinstance(raw, yamlsource.LocatedDict) else None
    seen_ids: set[str] = set()
    seen_kinds: dict[str, int] = {}
    for n, item in enumerate(values["stages"] or []):
        at = raw_stages.at(n) if isinstance(raw_stages, yamlsource.LocatedList) else pos
        stage = validate(item, STAGE_FIELDS, path=path, diags=diags, what="a capstone stage", at=at)
        if not stage["id"] or not stage["kind"]:
            continue
        if stage["id"] in seen_ids:
            diags.error(path, at.line, at.col, f'two capstone stages have the id "{stage["id"]}"')
        if stage["id"] in RESERVED_STAGE_IDS:
            diags.error(path, at.line, at.col, f'the stage id "{stage["id"]}" is reserved: the team\'s pages use it')
        elif not BLOCK_ID.match(stage["id"]):  # it is a segment of the stage's address and activity IRI
            diags.error(path, at.line, at.col, f'the stage id "{stage["id"]}" may hold only letters, digits, - and _')
        seen_ids.add(stage["id"])
        kind = stage["kind"]
        if kind in seen_kinds:
            diags.error(path, at.line, at.col, f'a capstone has one stage of each kind; "{kind}" is also stage '
                        f'{seen_kinds[kind] + 1}')
        seen_kinds[kind] = n
        rule = _rule(stage["complete_when"] or {}, kind, item, at, path, diags)
        where = item.at_value("guidance") if isinstance(item, yamlsource.LocatedDict) else at
        guidance = _guidance(stage["guidance"] or "", where, root, diags, md, lesson_files, yaml_lines)
        stages.append(Stage(id=stage["id"], kind=kind, title=stage["title"] or stage["id"],
                            iri=f"{course_iri.rstrip('/')}/capstone/{stage['id']}", complete_when=rule,
                            guidance_html=guidance))
    order = [STAGE_KINDS_ORDER[s.kind] for s in stages]
    if order != sorted(order):
        diags.warning(path, pos.line, pos.col, "capstone stages usually run in this order: " + ", ".join(STAGE_KINDS))
    if len(diags.errors) > before:
        return None
    return Capstone(title=values["title"] or "", team_min=low, team_max=high,
                    same_department=bool(values["same_department"]), stages=stages)


STAGE_KINDS_ORDER = {kind: n for n, kind in enumerate(STAGE_KINDS)}


def _rule(rule: dict[str, Any], kind: str, item: Any, at: yamlsource.Pos, path: str, diags: Diagnostics
          ) -> dict[str, Any]:
    allowed = COMPLETE_WHEN[kind]
    where = item.at_value("complete_when") if isinstance(item, yamlsource.LocatedDict) else at
    clean: dict[str, Any] = {}
    for key, value in rule.items():
        if key not in allowed:
            takes = ", ".join(allowed) or "no rule: it completes when its step is done"
            diags.error(path, where.line, where.col, f'a {kind} stage does not take complete_when "{key}"'
                        f"{did_you_mean(key, allowed)}; it takes {takes}")
            continue
        if key == "reflections" and value == "all_members":
            clean[key] = value
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            clean[key] = value
        else:
            diags.error(path, where.line, where.col, f"complete_when {key} must be a whole number of 1 or more"
                        + (' or "all_members"' if key == "reflections" else ""))
    if kind == "ideas" and not clean:
        clean["ideas_per_member"] = 1
    if kind == "measurements" and not clean:
        clean["measurements"] = 1
    if kind == "reflection" and not clean:
        clean["reflections"] = "all_members"
    return clean


def _guidance(value: str, where: yamlsource.Pos, root: Path, diags: Diagnostics, md: MarkdownIt,
              lesson_files: Collection[str], yaml_lines: list[str]) -> str:
    if not value.strip():
        return ""
    path = "course.yaml"
    text = value
    source = path  # the file the Markdown is in: its links are relative to it, and their problems located in it
    if value.strip().endswith(".md") and "\n" not in value.strip():
        target = (root / value.strip()).resolve()
        if not target.is_relative_to(root.resolve()):
            diags.error(path, where.line, where.col, f'guidance "{value}" is outside the course folder')
            return ""
        try:
            if not target.is_file():  # a folder, or a named pipe, whose reading would wait for ever
                raise FileNotFoundError(target)
            text = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            diags.error(path, where.line, where.col, f'missing guidance file "{value.strip()}"')
            return ""
        source = posixpath.normpath(value.strip())
    lines = text.split("\n")
    shown = lines if source != path else yaml_lines

    def error(line: int, col: int, message: str) -> None:
        if source == path:  # Markdown in course.yaml: at its place in the value there, as near as can be told
            line, col = _in_yaml(yaml_lines, where, lines, line, col)
        diags.error(source, line, col, message, shown[line - 1] if 0 < line <= len(shown) else "")

    env: dict[str, Any] = {"mc_lesson_path": source, "mc_url_base": STAGE_PAGE_TO_COURSE}
    tokens = md.parse(text, env)
    before = len(diags.errors)
    raws: list[RawBlock] = env.get("mc_blocks", [])
    for line, col in raw_html(tokens, raws, lines):
        error(line, col, "capstone guidance may not contain raw HTML")
    for raw in raws:
        opening = lines[raw.line - 1] if raw.line <= len(lines) else ""
        error(raw.line, len(opening) - len(opening.lstrip()) + 1,
              "capstone guidance is plain Markdown: ::: blocks are for lessons")
    for ref in env.get("mc_refs", []):
        problem = path_problem(ref) or target_problem(ref.kind, ref.target, lesson_files,
                                                      lambda target: is_course_file(root, root / target))
        if problem:
            error(ref.line, ref.col, problem)
    return "" if len(diags.errors) > before else str(md.renderer.render(tokens, md.options, env))


def _in_yaml(yaml_lines: list[str], where: yamlsource.Pos, lines: list[str], line: int, col: int
             ) -> tuple[int, int]:
    """Where ``line``:``col`` of Markdown written as a value in course.yaml (starting at ``where``) is in the file.
    A literal block (``|``) keeps the value's lines as the file's, each indented alike; any other value's first
    line is as written up to the column only if nothing before it was escaped or folded. Else the value's start."""
    if not 0 < where.line <= len(yaml_lines) or not 0 < line <= len(lines):
        return where.line, where.col
    first, start, wanted = yaml_lines[where.line - 1], where.col - 1, lines[line - 1]
    if first[start:start + 1] == "|":
        at = where.line + line  # the value's first line is the one after the "|"
        written = yaml_lines[at - 1] if at <= len(yaml_lines) else ""
        indent = len(written) - len(wanted)
        if written.endswith(wanted) and indent >= 0 and not written[:indent].strip():
            return at, indent + col
    elif line == 1 and first[start:start + 1] != ">":
        start += first[start:start + 1] in ("'", '"')  # past the opening quote
        if first[start:start + col] == wanted[:col]:
            return where.line, start + col
    return where.line, where.col
