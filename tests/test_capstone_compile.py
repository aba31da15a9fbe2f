"""The capstone section of course.yaml: compiled to a model, every mistake located."""

from __future__ import annotations

from pathlib import Path

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
    (root / "guide.md").write_text("<script>x</script>\n")
    assert "course.yaml:10:100: error: capstone guidance may not contain raw HTML" in [
        d.format() for d in build(root).diagnostics]


def test_stage_ids_the_team_pages_use_are_reserved(tmp_path: Path) -> None:
    # /{course}/capstone/teams/{team}/progress is the team's progress page: a stage there could never be reached.
    result = build(course_with(tmp_path, GOOD.replace("{id: plan, kind: plan", "{id: progress, kind: plan")))
    assert not result.ok
    assert "course.yaml:12:7: error: the stage id \"progress\" is reserved: the team's pages use it" in [
        d.format() for d in result.diagnostics]
