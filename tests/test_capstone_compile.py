"""The capstone section of course.yaml: compiled to a model, every mistake located."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

import pytest

from course import build
from helpers import COURSE_YAML, make_course

GOOD = """\
capstone:
  title: Your team's small change
  team_size: {min: 2, max: 6}
  same_department: true
  stages:
    - {id: ideas, kind: ideas, title: Share ideas, complete_when: {ideas_per_member: 2}, guidance: guide.md}
    - {id: agree, kind: decision, title: Agree your small change, guidance: "Talk it *through*."}
    - {id: plan, kind: plan, title: Plan the experiment}
    - {id: measure, kind: measurements, title: Try it and measure, complete_when: {measurements: 3}}
    - {id: reflect, kind: reflection, title: Reflect}
    - {id: share, kind: case_study, title: Share your case study}
"""


def course_with(tmp_path: Path, capstone: str) -> Path:
    root = make_course(tmp_path, course_yaml=COURSE_YAML + capstone)
    (root / "guide.md").write_text("## How to share ideas\n\nWrite each idea down.\n")
    return root


def test_a_good_capstone_compiles(tmp_path: Path) -> None:
    result = build(course_with(tmp_path, GOOD))
    assert result.ok, [d.format() for d in result.diagnostics]
    capstone = result.course.capstone if result.course else None
    assert capstone is not None
    assert (capstone.title, capstone.team_min, capstone.team_max, capstone.same_department) == (
        "Your team's small change", 2, 6, True)
    stages = {s.id: s for s in capstone.stages}
    assert stages["ideas"].complete_when == {"ideas_per_member": 2}
    assert stages["measure"].complete_when == {"measurements": 3}
    assert stages["reflect"].complete_when == {"reflections": "all_members"}
    assert "<h2>How to share ideas</h2>" in stages["ideas"].guidance_html
    assert "<em>through</em>" in stages["agree"].guidance_html
    assert stages["plan"].iri == "https://learn.example.gov.uk/courses/demo/capstone/plan"


@pytest.mark.parametrize(("change", "message"), [
    ("kind: ideas, title: Share", "course.yaml:11:7: error: a capstone has one stage of each kind; \"ideas\" is also stage 1"),
    ("kind: idea, title: Share", 'course.yaml:11:25: error: "kind" must be one of: ideas, decision, plan, measurements, reflection, case_study; got "idea" (did you mean "ideas"?)'),
    ("kind: plan, title: P, complete_when: {measurements: 2}", 'course.yaml:11:56: error: a plan stage does not take complete_when "measurements"; it takes no rule: it completes when its step is done'),
])
def test_stage_mistakes(tmp_path: Path, change: str, message: str) -> None:
    capstone = GOOD.replace("{id: agree, kind: decision, title: Agree your small change, guidance: \"Talk it *through*.\"}",
                            "{id: extra, " + change + "}")
    result = build(course_with(tmp_path, capstone))
    assert message in [d.format() for d in result.diagnostics]
    assert not result.ok


def test_section_mistakes_are_all_reported(tmp_path: Path) -> None:
    capstone = (GOOD.replace("team_size: {min: 2, max: 6}", "team_size: {min: 6, max: 2}")
                .replace("guidance: guide.md", "guidance: missing.md")
                .replace("{id: plan, kind: plan", "{id: ideas, kind: plan")
                .replace("complete_when: {measurements: 3}", "complete_when: {measurements: 0}")
                .replace("  same_department: true\n", "  same_departmnet: true\n"))
    found = [d.format() for d in build(course_with(tmp_path, capstone)).diagnostics]
    assert found == [
        "course.yaml:7:14: error: team_size needs whole numbers with 1 <= min <= max",
        "course.yaml:8:3: error: unknown key \"same_departmnet\" in capstone (did you mean \"same_department\"?)",
        "course.yaml:10:100: error: missing guidance file \"missing.md\"",
        "course.yaml:12:7: error: two capstone stages have the id \"ideas\"",
        "course.yaml:13:83: error: complete_when measurements must be a whole number of 1 or more",
    ]


def test_guidance_is_plain_markdown(tmp_path: Path) -> None:
    root = course_with(tmp_path, GOOD)
    (root / "guide.md").write_text("## Ideas\n\n<script>x</script>\n\nWrite <b>each</b> one down.\n\n"
                                   "  ::: callout\n  A tip.\n  :::\n")
    assert [d.format() for d in build(root).diagnostics] == [  # in the guidance file, each where it is
        "guide.md:3:1: error: capstone guidance may not contain raw HTML",
        "guide.md:5:7: error: capstone guidance may not contain raw HTML",
        "guide.md:5:14: error: capstone guidance may not contain raw HTML",
        "guide.md:7:3: error: capstone guidance is plain Markdown: ::: blocks are for lessons",
    ]


@pytest.mark.parametrize(("guidance", "found"), [
    # A literal block: the value's lines are the file's, so each problem is at its own line and column.
    ("|\n        Talk it *through*.\n\n        - Read [this](modules/01-intro/030-gone.md) and <b>that</b>,\n"
     "          then ![a chart](media/gone.png).\n",
     ["21:23", "21:57", "21:64", "22:27"]),
    # On one line, as written: at the column too.
    ('"See [it](modules/01-intro/030-gone.md)."', ["18:27"]),
    ("See [it](modules/01-intro/030-gone.md).", ["18:26"]),
    # An escape before the link, or a folded value, no longer reads as the file does: at the value.
    ('"\\"See\\" [it](modules/01-intro/030-gone.md)."', ["18:17"]),
    (">\n        Talk it *through*.\n        Read [this](modules/01-intro/030-gone.md).\n", ["18:17"]),
])
def test_problems_in_guidance_written_in_course_yaml_are_located_in_it(tmp_path: Path, guidance: str,
                                                                       found: list[str]) -> None:
    capstone = GOOD.replace(', guidance: "Talk it *through*."}', "}") + (
        "    - id: extra\n      kind: case_study\n      title: More\n      guidance: " + guidance)
    capstone = capstone.replace("    - {id: share, kind: case_study, title: Share your case study}\n", "")
    diagnostics = build(course_with(tmp_path, capstone)).diagnostics
    assert [f"{d.line}:{d.col}" for d in diagnostics if d.path == "course.yaml"] == found, [
        d.format() for d in diagnostics]


def test_stage_ids_the_team_pages_use_are_reserved(tmp_path: Path) -> None:
    # /{course}/capstone/teams/{team}/progress is the team's progress page: a stage there could never be reached.
    result = build(course_with(tmp_path, GOOD.replace("{id: plan, kind: plan", "{id: progress, kind: plan")))
    assert not result.ok
    assert "course.yaml:12:7: error: the stage id \"progress\" is reserved: the team's pages use it" in [
        d.format() for d in result.diagnostics]


def test_guidance_links_and_media_are_checked_like_a_lessons(tmp_path: Path) -> None:
    capstone = GOOD.replace('guidance: "Talk it *through*."', 'guidance: "See [it](modules/01-intro/030-gone.md)."')
    root = course_with(tmp_path, capstone)
    (root / "capstone").mkdir()
    (root / "capstone" / "ideas.md").write_text(
        "## Ideas\n\n![A chart](../media/missing.png) and [a lesson](../modules/01-intro/010-lesson.md).\n\n"
        "See [this](../../outside.md), ![that](../modules/01-intro/module.yaml) and [more](../modules/01-intro/"
        "090-gone.md#top).\n")
    (root / "course.yaml").write_text((root / "course.yaml").read_text().replace("guidance: guide.md",
                                                                                 "guidance: capstone/ideas.md"))
    assert [d.format() for d in build(root).diagnostics] == [
        'capstone/ideas.md:3:12: error: missing media file "media/missing.png"',
        'capstone/ideas.md:5:12: error: "../../outside.md" is outside the course folder',
        'capstone/ideas.md:5:39: error: "modules/01-intro/module.yaml" is not in the course\'s media folder (put '
        "images and files under media/; links to other lessons end in .md)",
        'capstone/ideas.md:5:83: error: broken link: no lesson at "modules/01-intro/090-gone.md"',
        'course.yaml:11:87: error: broken link: no lesson at "modules/01-intro/030-gone.md"',  # at the link
    ]


def test_guidance_links_lead_from_the_stage_page_to_the_course(tmp_path: Path) -> None:
    root = course_with(tmp_path, GOOD)
    (root / "guide.md").write_text("![A chart](media/pic.png), [a lesson](modules/01-intro/010-lesson.md#end) and "
                                   "[elsewhere](https://example.org/x).\n")
    result = build(root)
    assert result.ok and result.course is not None and result.course.capstone is not None, [
        d.format() for d in result.diagnostics]
    html = result.course.capstone.stages[0].guidance_html
    # A stage's page is /{course}/capstone/teams/{team}/{stage}: three folders below the course's own.
    page = "https://learn.example.gov.uk/demo/capstone/teams/7/ideas"
    for url, course_url in [("../../../media/pic.png", "/demo/media/pic.png"),
                            ("../../../01-intro/lesson#end", "/demo/01-intro/lesson#end")]:
        assert f'"{url}"' in html and urljoin(page, url) == "https://learn.example.gov.uk" + course_url
    assert 'href="https://example.org/x"' in html
