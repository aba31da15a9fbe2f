"""A course's own templates (``theme/``, which override the service's), read for their syntax: a mistake is a
located error when the course is checked, not a failing page for every learner once it is served.

Only the syntax: which templates exist to extend or include is the service's to say.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from .diagnostics import Diagnostics


def check_theme(root: Path, diags: Diagnostics) -> None:
    folder = root / "theme"
    if not folder.is_dir():
        return
    env = jinja2.Environment(autoescape=True)
    for path in sorted(folder.rglob("*.html")):
        rel = path.relative_to(root).as_posix()
        try:
            env.parse(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            diags.error(rel, 1, 1, "the template is not UTF-8 text")
        except OSError as exc:
            diags.error(rel, 1, 1, f"the template cannot be read: {exc.strerror}")
        except jinja2.TemplateSyntaxError as exc:
            diags.error(rel, exc.lineno or 1, 1, f"template syntax: {exc.message}")
