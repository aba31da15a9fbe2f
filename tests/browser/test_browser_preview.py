"""The authoring preview in a real browser: a saved edit reloads the open page, keeping its place."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from engine.cli import cli

from .browserkit import axe_violations, format_violations

MASTERCLASS = Path(sys.executable).parent / "masterclass"


def test_a_saved_edit_reloads_the_open_page_and_errors_show_in_place(browser: Any, tmp_path: Path) -> None:
    from .conftest import _free_port, _healthy

    root = tmp_path / "my-course"
    assert CliRunner().invoke(cli, ["new", str(root)]).exit_code == 0
    lesson = root / "modules" / "01-getting-started" / "010-welcome.md"
    port = _free_port()
    process = subprocess.Popen([str(MASTERCLASS), "preview", str(root), "--port", str(port)],
                               env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if _healthy(base):
                break
            time.sleep(0.1)
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        page = context.new_page()
        page.goto(f"{base}/my-course/01-getting-started/welcome")
        page.wait_for_function("() => document.querySelector('h2') !== null")
        page.evaluate("window.scrollTo(0, 400)")
        page.evaluate("window.__before_reload = true")
        lesson.write_text(lesson.read_text().replace("## A question", "## An edited heading"))
        page.get_by_role("heading", name="An edited heading").wait_for(timeout=15_000)
        assert page.evaluate("window.__before_reload === undefined")  # a real reload, not a patch
        assert page.evaluate("window.scrollY") > 0  # the page keeps its place

        lesson.write_text(lesson.read_text().replace("::: question id=", "::: questoin id="))
        page.get_by_text("This page has authoring errors").wait_for(timeout=15_000)
        assert page.get_by_text("← here").count() == 1
        assert not axe_violations(page), format_violations(axe_violations(page))

        lesson.write_text(lesson.read_text().replace("::: questoin id=", "::: question id="))
        page.get_by_role("heading", name="An edited heading").wait_for(timeout=15_000)
        context.close()
    finally:
        process.terminate()
        process.wait(10)
