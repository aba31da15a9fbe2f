"""The certificate section of course.yaml: validated with located errors, compiled to a plain mapping.

The compiled course keeps ``certificate`` as a mapping (``Course.certificate``) so that compiled output written
before this section was checked still loads; :data:`DEFAULTS` is what a course without the section gets.
"""

from __future__ import annotations

from typing import Any

from . import yamlsource
from .diagnostics import Diagnostics
from .schema import Field, validate

CERTIFICATE_FIELDS: tuple[Field, ...] = (
    Field("enabled", "`false` to give no certificate. Every course gives one unless this is turned off.", "bool",
          default=True),
    Field("title", "The heading of the certificate. Default: \"Certificate of completion\".", "str",
          default="Certificate of completion"),
    Field("requires_capstone", "`true` when the certificate also waits for the learner's team project to be "
          "completed, even if completing the course does not need it. Needs a `capstone` section.", "bool",
          default=False),
    Field("signed_by", "Who the certificate is from, printed under it, e.g. `Director, Innovation Programme`.",
          "str", default=None),
)

DEFAULTS: dict[str, Any] = {f.name: f.default for f in CERTIFICATE_FIELDS}


def compile_certificate(raw: Any, *, has_capstone: bool, pos: yamlsource.Pos, diags: Diagnostics
                        ) -> dict[str, Any]:
    """The certificate settings with their defaults; every mistake is reported in ``diags``."""
    path = "course.yaml"
    values = validate(raw, CERTIFICATE_FIELDS, path=path, diags=diags, what="certificate", at=pos)
    if values["requires_capstone"] and not has_capstone:
        where = raw.at_value("requires_capstone") if isinstance(raw, yamlsource.LocatedDict) else pos
        diags.error(path, where.line, where.col,
                    "certificate requires_capstone needs a capstone section in course.yaml")
        values["requires_capstone"] = False
    if isinstance(values["title"], str):
        values["title"] = values["title"].strip()
    if isinstance(values["signed_by"], str):
        values["signed_by"] = values["signed_by"].strip()
    return {name: values[name] for name in DEFAULTS}
