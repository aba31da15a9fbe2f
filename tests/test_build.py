"""The compiled course: written, loaded back with every block, IRI and answer; rebuilt incrementally."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from course import Builder, build, load_compiled, write_compiled
from course.model import PLACEHOLDER, Checklist, Poll, Question, Reflection, Video, block_from_dict
from engine.cli import cli
from helpers import make_course

LESSON = """\
---
title: Small changes
duration: 1h 5m
---
## What counts

Read [the other lesson](020-other.md#top) and look at ![a chart](../../media/pic.png).

::: question id=define-small-change
What makes a change "small"?

- ( ) It needs ministerial sign-off
  > Not quite: sign-off is the opposite of small.
- (x) Your team can try it within a few weeks
  > Right: a small change is one your team controls.
- ( ) It must save at least £1m
  > No: money is not the test.

hint: Who controls it?

Small changes are safe to try.
:::

::: question id=pick-two max_attempts=2
Which two?

- [x] A
- [ ] B
- [x] C
:::

::: poll id=confidence-start measure=confidence
I feel equipped to turn my ideas into impactful outcomes.

scale: 1-5
labels: Strongly disagree | Disagree | Neither | Agree | Strongly agree
:::

::: poll id=channel
Where do ideas come from?

- [ ] Users
- [ ] Colleagues
:::

::: reflection id=first-thoughts min_words=10 share=team
What would you change?
:::

::: video id=intro src=../../media/clip.mp4 captions=media/clip.vtt poster=../../media/pic.png
Narrator: welcome.
:::

::: checklist id=ready
Before you start:

- [ ] Book a meeting
- [ ] Tell your manager
:::

::: callout kind=warning
Do not share personal data.
:::
"""

CHECKLIST_LESSON = """\
---
title: Getting ready
---
::: checklist id=ready
Before you start, read [the other lesson](020-other.md) & "ask":

- [ ] Book a meeting
- [ ] Tell your manager

Come back & tick 1 < 2 items [any time](020-other.md).

Or ask *your* facilitator.
:::
"""
"""A checklist with text before its items and after them (the after-text once showed above the items)."""


def test_every_block_with_its_iri_and_answers_survives_a_round_trip(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo", lesson=LESSON)
    result = build(root)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.course is not None
    write_compiled(result.course, root, tmp_path / "out")
    course = load_compiled(tmp_path / "out")

    assert course.id == "https://learn.example.gov.uk/courses/demo"
    assert course.slug == "demo"
    module = course.modules[0]
    assert module.iri == course.id + "/01-intro"
    lesson = module.lessons[0]
    assert (lesson.id, lesson.title, lesson.duration, lesson.complete_when) == ("lesson", "Small changes", 3900, "answered")
    assert lesson.iri == course.id + "/01-intro/lesson"

    blocks = {b.id or b.type: b for b in lesson.blocks}
    question = blocks["define-small-change"]
    assert isinstance(question, Question)
    assert question.iri == lesson.iri + "/define-small-change"
    assert question.activity_type == "http://adlnet.gov/expapi/activities/cmi.interaction"
    assert question.correct == [1] and not question.multiple
    assert [o.text for o in question.options][2] == "It must save at least £1m"
    assert "your team controls" in question.options[1].feedback_html
    assert question.hint_html == "Who controls it?"
    assert "safe to try" in question.explanation_html
    multi = blocks["pick-two"]
    assert isinstance(multi, Question) and multi.multiple and multi.correct == [0, 2] and multi.max_attempts == 2
    poll = blocks["confidence-start"]
    assert isinstance(poll, Poll) and poll.measure == "confidence" and poll.scale is not None
    assert (poll.scale.low, poll.scale.high, poll.scale.labels[0]) == (1, 5, "Strongly disagree")
    channel = blocks["channel"]
    assert isinstance(channel, Poll) and channel.multiple and len(channel.options) == 2
    reflection = blocks["first-thoughts"]
    assert isinstance(reflection, Reflection) and (reflection.min_words, reflection.share) == (10, "team")
    video = blocks["intro"]
    assert isinstance(video, Video)
    assert (video.src, video.captions, video.poster) == ("media/clip.mp4", "media/clip.vtt", "media/pic.png")
    assert video.activity_type == "https://w3id.org/xapi/video/activity-type/video"
    checklist = blocks["ready"]
    assert isinstance(checklist, Checklist) and [i.text for i in checklist.items] == ["Book a meeting", "Tell your manager"]
    assert blocks["callout"].interactive is False

    assert set(course.blocks()) == {"define-small-change", "pick-two", "confidence-start", "channel",
                                    "first-thoughts", "intro", "ready"}


def test_answers_and_feedback_never_reach_the_lesson_html(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo", lesson=LESSON)
    result = build(root)
    assert result.course is not None
    write_compiled(result.course, root, tmp_path / "out")
    lesson = load_compiled(tmp_path / "out").lessons()[0]
    html = lesson.html
    assert "your team controls" not in html and "Who controls" not in html and "(x)" not in html
    for n in range(len(lesson.blocks)):
        assert PLACEHOLDER.format(index=n) in html
    # Links are rewritten to the runtime's URLs, relative to the lesson page.
    assert 'href="../01-intro/other#top"' in html
    assert 'src="../media/pic.png"' in html
    assert (tmp_path / "out" / "media" / "clip.mp4").exists()


def test_one_edited_lesson_is_the_only_one_reparsed(tmp_path: Path) -> None:
    root = make_course(tmp_path, lesson=LESSON)
    builder = Builder(root)
    assert builder.build().parsed == 2
    assert builder.build().parsed == 0
    other = root / "modules" / "01-intro" / "020-other.md"
    other.write_text(other.read_text() + "\nMore.\n")
    os.utime(other, ns=(1, 1))
    second = builder.build()
    assert second.parsed == 1
    assert second.course is not None and "More." in second.course.lessons()[1].html


def test_a_fixed_lesson_recovers_and_a_broken_one_keeps_its_errors(tmp_path: Path) -> None:
    root = make_course(tmp_path)
    builder = Builder(root)
    lesson = root / "modules" / "01-intro" / "010-lesson.md"
    lesson.write_text("---\ntitle: T\n---\n::: quiz id=x\n:::\n")
    assert not builder.build().ok
    assert not builder.build().ok  # from the cache, still reported
    lesson.write_text("---\ntitle: T\n---\nFine now.\n")
    assert builder.build().ok


def test_cli_build_reuses_the_previous_output(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo", lesson=LESSON)
    out = tmp_path / "out"
    runner = CliRunner()
    first = runner.invoke(cli, ["build", str(root), "-o", str(out)])
    assert first.exit_code == 0, first.output
    assert "(2 parsed)" in first.output
    second = runner.invoke(cli, ["build", str(root), "-o", str(out)])
    assert "(0 parsed)" in second.output
    manifest = json.loads((out / "course.json").read_text())
    assert manifest["modules"][0]["id"] == "01-intro"


def test_cli_check_reports_and_fails(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo", lesson="---\ntitle: T\n---\n::: questoin id=q\n:::\n")
    result = CliRunner().invoke(cli, ["check", str(root)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        'modules/01-intro/010-lesson.md:4:5: error: unknown block type "questoin" (did you mean "question"?); '
        "known types: question, poll, reflection, video, checklist, callout"
    )
    assert "1 errors" in result.output.splitlines()[-1]
    as_json = CliRunner().invoke(cli, ["check", str(root), "--format", "json"])
    data = json.loads(as_json.output)
    assert data["ok"] is False and data["diagnostics"][0]["line"] == 4
    assert data["diagnostics"][0]["source"] == "::: questoin id=q"


def test_cli_check_passes_a_good_course(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo", lesson=LESSON)
    result = CliRunner().invoke(cli, ["check", str(root)])
    assert result.exit_code == 0, result.output
    assert "ok: 1 modules, 2 lessons, 8 blocks, 0 errors, 0 warnings" in result.output


def test_raw_html_allowed_when_the_course_says_so(tmp_path: Path) -> None:
    from helpers import COURSE_YAML

    root = make_course(tmp_path, course_yaml=COURSE_YAML + "allow_html: true\n",
                       lesson="---\ntitle: T\n---\nSome <kbd>Ctrl</kbd> keys.\n")
    result = build(root)
    assert result.ok
    assert result.course is not None and "<kbd>Ctrl</kbd>" in result.course.lessons()[0].html


def test_option_text_keeps_spaces_and_labels_may_come_first(tmp_path: Path) -> None:
    lesson = ("---\ntitle: T\n---\n::: question id=q\nPick.\n\n- (x) A long option\n  that wraps\n- ( ) B\n:::\n\n"
              "::: poll id=p\nHow?\n\nlabels: Low | Mid | High\n\nscale: 1-3\n:::\n")
    result = build(make_course(tmp_path, lesson=lesson))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.course is not None
    question, poll = result.course.lessons()[0].blocks
    assert isinstance(question, Question) and question.options[0].text == "A long option that wraps"
    assert isinstance(poll, Poll) and poll.scale is not None and poll.scale.labels == ["Low", "Mid", "High"]


def test_a_poll_prompt_that_starts_with_scale_is_the_prompt_not_the_scale(tmp_path: Path) -> None:
    lesson = ("---\ntitle: T\n---\n::: poll id=size\nScale: how big was the change?\n\nscale: 1-5\n:::\n\n"
              "::: poll id=fit\nLabels: which fits your team?\n\n- ( ) A\n- ( ) B\n:::\n")
    result = build(make_course(tmp_path, lesson=lesson))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.course is not None
    size, fit = result.course.lessons()[0].blocks
    assert isinstance(size, Poll) and size.prompt_html == "<p>Scale: how big was the change?</p>"
    assert size.scale is not None and (size.scale.low, size.scale.high) == (1, 5)
    assert isinstance(fit, Poll) and fit.prompt_html == "<p>Labels: which fits your team?</p>"
    assert [o.text for o in fit.options] == ["A", "B"] and fit.scale is None


def test_a_question_hint_is_the_hint_line_after_its_options_and_no_other_text(tmp_path: Path) -> None:
    lesson = ("---\ntitle: T\n---\n::: question id=q\nHint: the first paragraph is the prompt.\n\nPick.\n\n"
              "- ( ) A\n- (x) B\n\nhint: Who decides?\n\nBecause B.\n\nAnd more.\n:::\n\n"
              "::: question id=late\nPick.\n\n- ( ) A\n- (x) B\n\nBecause B.\n\nhint: Look again.\n\nAnd more.\n:::\n")
    result = build(make_course(tmp_path, lesson=lesson))
    assert [d.format() for d in result.diagnostics] == [
        "modules/01-intro/010-lesson.md:27:1: warning: this hint is after the explanation: it is still the hint, "
        "shown before the learner answers; put it straight after the options"]
    assert result.course is not None
    question, late = result.course.lessons()[0].blocks
    assert isinstance(question, Question)
    assert question.prompt_html == "<p>Hint: the first paragraph is the prompt.</p>\n<p>Pick.</p>"
    assert question.hint_html == "Who decides?"
    assert question.explanation_html == "<p>Because B.</p>\n<p>And more.</p>"
    assert isinstance(late, Question) and late.hint_html == "Look again."
    assert late.explanation_html == "<p>Because B.</p>\n<p>And more.</p>"


def test_a_hint_line_anywhere_else_in_a_question_is_an_error_not_its_hint(tmp_path: Path) -> None:
    lesson = ("---\ntitle: T\n---\n::: question id=q\nPick.\n\nhint: before the options\n\n- ( ) A\n"
              "- (x) B\nhint: glued to an option\n\nhint: Who decides?\nBecause B.\n\nhint: a second one\n:::\n")
    result = build(make_course(tmp_path, lesson=lesson))
    assert not result.ok
    assert [(d.line, d.severity) for d in result.diagnostics] == [(7, "error"), (11, "error"), (14, "error"),
                                                                 (16, "error")]


def test_a_line_glued_to_the_last_option_is_part_of_it_with_a_warning(tmp_path: Path) -> None:
    lesson = ("---\ntitle: T\n---\n::: question id=q\nPick.\n\n- ( ) A\n- (x) B\n  that wraps\n"
              "Because B is right.\n:::\n")
    result = build(make_course(tmp_path, lesson=lesson))
    assert [d.format() for d in result.diagnostics] == [
        "modules/01-intro/010-lesson.md:10:1: warning: this line is read as part of the last option above, as it is "
        "not indented: indent it to keep it there, or put a blank line before it"]
    assert result.course is not None
    (question,) = result.course.lessons()[0].blocks
    assert isinstance(question, Question)
    assert question.options[1].text == "B that wraps Because B is right." and question.explanation_html == ""


def test_a_checklists_text_after_its_items_is_kept_apart_from_the_text_before(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo", lesson=CHECKLIST_LESSON)
    result = build(root)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.course is not None
    (checklist,) = result.course.lessons()[0].blocks
    assert isinstance(checklist, Checklist)
    # Each text as Markdown made it, escaped and with its links rewritten, the one as the other.
    assert checklist.prompt_html == ('<p>Before you start, read <a href="../01-intro/other">the other lesson</a> '
                                     "&amp; &quot;ask&quot;:</p>")
    assert [i.text for i in checklist.items] == ["Book a meeting", "Tell your manager"]
    assert checklist.after_html == ('<p>Come back &amp; tick 1 &lt; 2 items <a href="../01-intro/other">any time</a>.'
                                    "</p>\n<p>Or ask <em>your</em> facilitator.</p>")
    write_compiled(result.course, root, tmp_path / "out")
    (loaded,) = load_compiled(tmp_path / "out").lessons()[0].blocks
    assert loaded == checklist
    # Output written before compiler version 6 has no after_html (its prompt holds that text): it still loads.
    old = {k: v for k, v in checklist.to_dict().items() if k != "after_html"}
    assert block_from_dict(old) == Checklist(checklist.id, checklist.iri, checklist.line, checklist.prompt_html,
                                             checklist.items)


def test_a_watcher_can_name_the_changed_files(tmp_path: Path) -> None:
    root = make_course(tmp_path, lesson=LESSON)
    builder = Builder(root)
    builder.build()
    other = root / "modules" / "01-intro" / "020-other.md"
    other.write_text(other.read_text() + "\nWatched edit.\n")
    result = builder.build(changed={str(other)})
    assert result.parsed == 1
    assert result.course is not None and "Watched edit." in result.course.lessons()[1].html
    assert builder.build(changed=set()).parsed == 0
