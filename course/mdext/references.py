"""Links to other lessons and media paths: recorded for checking, rewritten for the runtime.

A lesson at ``modules/<module>/NNN-<slug>.md`` is served at ``<course>/<module>/<slug>``
and media at ``<course>/media/<path>``, so links are rewritten to URLs relative to
the lesson's page: ``../<module>/<slug>`` and ``../media/<path>``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

LESSON_FILE = re.compile(r"^(\d+)-([a-z0-9][a-z0-9_-]*)\.md$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass
class Ref:
    kind: str
    """``lesson``, ``media``, ``outside`` (a path that leaves the course folder) or ``misplaced``
    (a file in the course that is neither a lesson nor under ``media/``)."""
    target: str
    """The course-relative path referred to."""
    line: int
    col: int


def resolve(lesson_path: str, href: str) -> tuple[str, str] | None:
    """Resolve a relative ``href`` from a lesson: (kind, course-relative target), or None if external."""
    if not href or href.startswith(("#", "/", "?")) or _SCHEME.match(href):
        return None
    path = unquote(href.split("#", 1)[0].split("?", 1)[0])
    if not path:
        return None
    target = posixpath.normpath(posixpath.join(posixpath.dirname(lesson_path), path))
    if target.startswith("../") or target == "..":
        return "outside", path
    if path.endswith(".md"):
        return "lesson", target
    if not target.startswith("media/") and path.startswith("media/"):
        # Authors may also write media paths from the course folder, as the docs say.
        target = posixpath.normpath(path)
    return ("media" if target.startswith("media/") else "misplaced"), target


def url_for(kind: str, target: str, href: str, base: str = "../") -> str:
    """The URL, relative to a lesson page, that the runtime serves ``target`` at; ``base`` leads from the page to
    the course's own URL (another page, a capstone stage's, is deeper)."""
    fragment = "#" + href.split("#", 1)[1] if "#" in href else ""
    if kind == "lesson":
        parts = target.split("/")
        match = LESSON_FILE.match(parts[-1])
        slug = match.group(2) if match else parts[-1][:-3]
        module = parts[1] if len(parts) == 3 and parts[0] == "modules" else ""
        return f"{base}{module}/{slug}{fragment}"
    return base + target + fragment


def references_plugin(md: MarkdownIt) -> None:
    """Collect ``env["mc_refs"]`` and rewrite relative links, given ``env["mc_lesson_path"]`` (the file the links
    are relative to) and, for a page that is not a lesson's, ``env["mc_url_base"]`` (see :func:`url_for`)."""

    def collect(state: StateCore) -> None:
        lesson_path = state.env.get("mc_lesson_path")
        if not lesson_path:
            return
        base = state.env.get("mc_url_base", "../")
        lines = state.src.split("\n")
        refs: list[Ref] = state.env.setdefault("mc_refs", [])
        for token in state.tokens:
            if token.type != "inline" or not token.children:
                continue
            first = (token.map or [0])[0]
            last = (token.map or [0, first + 1])[1]
            # Search on from the previous link, so two links to similar paths get their own columns.
            cursor = (first, 0)
            for child in _walk(token.children):
                attr = "href" if child.type == "link_open" else "src" if child.type == "image" else ""
                if not attr:
                    continue
                href = str(child.attrs.get(attr, ""))
                resolved = resolve(lesson_path, href)
                if resolved is None:
                    continue
                kind, target = resolved
                line, col = first + 1, 1
                for n in range(cursor[0], min(last, len(lines))):
                    at = lines[n].find("(" + href, cursor[1] if n == cursor[0] else 0)
                    at = at + 1 if at >= 0 else lines[n].find(href, cursor[1] if n == cursor[0] else 0)
                    if at >= 0:
                        line, col = n + 1, at + 1
                        cursor = (n, at + len(href))
                        break
                refs.append(Ref(kind, target, line, col))
                if kind in ("lesson", "media"):
                    child.attrs[attr] = url_for(kind, target, href, base)

    md.core.ruler.push("mc_references", collect)


def _walk(tokens: list[Token]) -> list[Token]:
    found: list[Token] = []
    for token in tokens:
        found.append(token)
        if token.children:
            found.extend(_walk(token.children))
    return found
