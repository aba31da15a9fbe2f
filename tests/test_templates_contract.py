"""Every variable a template uses is documented in docs/templates.md (the Datasette habit)."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import meta

from engine.web.templating import DEFAULT_THEME, environment

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = DEFAULT_THEME / "templates"
NOT_VARIABLES = {"undefined", "namespace"}


@pytest.mark.parametrize("name", sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")))
def test_template_variables_are_documented(name: str) -> None:
    docs = (ROOT / "docs" / "templates.md").read_text()
    env = environment(None)
    used = meta.find_undeclared_variables(env.parse((TEMPLATES / name).read_text()))
    missing = sorted(v for v in used - NOT_VARIABLES if not v.startswith("govuk") and f"`{v}`" not in docs)
    assert not missing, f"{name} uses undocumented variables: {missing}"
    assert f"`{name}`" in docs or name.startswith("blocks/") or name.startswith("_"), f"{name} is not documented"
