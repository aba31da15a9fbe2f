"""Template lookup (course theme folder, then the theme, then GOV.UK Frontend) and page context."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChainableUndefined,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    select_autoescape,
)

THEMES = Path(__file__).resolve().parents[2] / "themes"
DEFAULT_THEME = THEMES / "govuk"

_SINGLE_PARAGRAPH = re.compile(r"^<p>((?:(?!</?p>).)*)</p>$", re.S)


def error_link(error: dict[str, str]) -> dict[str, str]:
    return {"text": error["text"], "href": "#" + error["field"]}


def inline_prompt(html: str) -> str:
    """A one-paragraph prompt can be a legend or label; anything longer cannot."""
    match = _SINGLE_PARAGRAPH.match(html.strip())
    return match.group(1) if match else ""


@lru_cache(maxsize=64)
def environment(course_theme: str | None) -> Environment:
    """One environment per course theme folder, so a course can override any template."""
    theme = FileSystemLoader(str(DEFAULT_THEME / "templates"))
    loaders: list[BaseLoader] = []
    if course_theme:
        loaders.append(FileSystemLoader(course_theme))
    loaders += [
        theme,
        # `{% extends "default:lesson.html" %}` reaches the theme's own template from an override.
        PrefixLoader({"default": theme}, delimiter=":"),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")}),
    ]
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # No stat of every template file on every render: the preview drops this cache when a template changes.
        auto_reload=False,
    )
    env.filters["error_link"] = error_link
    return env


@lru_cache(maxsize=64)
def _theme_of(course_folder: Path | None) -> str | None:
    theme = course_folder / "theme" if course_folder is not None else None
    return str(theme) if theme is not None and theme.is_dir() else None


def render(template: str, context: dict[str, Any], *, course_folder: Path | None = None) -> str:
    return environment(_theme_of(course_folder)).get_template(template).render(context)
