"""The Innovation Masterclass course (issue 8): it builds cleanly and has the agreed shape.

Shape: a start module, six teaching modules of 3 to 5 lessons with graded questions
and reflections, a closing module; the confidence measure before and after with
the same wording and scale; about 3 hours of learning; a captioned video under
3 MB; and a capstone with six stages, each with its guidance file.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from course import Block, BuildResult, Course, build
from course.model import Poll, Question, Video

COURSE_DIR = Path(__file__).parent.parent / "content" / "innovation-masterclass"
STAGES = ["ideas", "agree", "plan", "measure", "reflect", "share"]
MAX_VIDEO_BYTES = 3 * 1024 * 1024
_TIMING = re.compile(r"^(\d{2}:)?\d{2}:\d{2}\.\d{3} --> (\d{2}:)?\d{2}:\d{2}\.\d{3}")


@pytest.fixture(scope="module")
def result() -> BuildResult:
    return build(COURSE_DIR)


@pytest.fixture(scope="module")
def course(result: BuildResult) -> Course:
    assert result.course is not None
    return result.course


def blocks(course: Course) -> Iterator[Block]:
    for lesson in course.lessons():
        yield from lesson.blocks


def text_of(fragment: str) -> str:
    """Plain text of an HTML fragment, with whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_builds_without_errors_or_warnings(result: BuildResult) -> None:
    problems = [d.format() for d in result.diagnostics]
    assert result.ok, problems
    assert not result.errors, problems
    assert not result.warnings, problems


def test_course_settings(course: Course) -> None:
    assert course.id == "https://learn.innovation-masterclass.example/courses/innovation-masterclass"
    assert course.language == "en-GB"
    assert course.completion_modules == [m.id for m in course.modules]
    assert course.completion_capstone is True
    assert 0 < course.mastery_score <= 1


def test_six_teaching_modules_between_start_and_finish(course: Course) -> None:
    teaching = course.modules[1:-1]
    assert len(course.modules) == 8
    assert len(teaching) == 6
    for module in teaching:
        assert 3 <= len(module.lessons) <= 5, module.id


def test_each_teaching_module_has_a_question_set_and_a_reflection(course: Course) -> None:
    for module in course.modules[1:-1]:
        types = [b.type for lesson in module.lessons for b in lesson.blocks]
        assert types.count("question") >= 3, module.id
        assert "reflection" in types, module.id
        # At least one lesson holds a set of several questions.
        assert any(sum(b.type == "question" for b in lesson.blocks) >= 3 for lesson in module.lessons), module.id


def test_every_question_is_well_formed_with_feedback_on_every_option(course: Course) -> None:
    questions = [b for b in blocks(course) if isinstance(b, Question)]
    assert questions
    assert any(q.multiple for q in questions), "no multiple-choice question"
    assert any(not q.multiple for q in questions), "no single-choice question"
    for question in questions:
        correct = [o for o in question.options if o.correct]
        assert len(question.options) >= 2, question.id
        if question.multiple:
            assert len(correct) >= 1, question.id
        else:
            assert len(correct) == 1, question.id
        for option in question.options:
            assert option.text.strip(), question.id
            assert text_of(option.feedback_html), f"{question.id}: no feedback for {option.text!r}"


def test_every_block_type_and_variant_is_used(course: Course) -> None:
    all_blocks = list(blocks(course))
    assert {b.type for b in all_blocks} == {"question", "poll", "reflection", "video", "checklist", "callout"}
    polls = [b for b in all_blocks if isinstance(b, Poll)]
    assert any(p.scale for p in polls) and any(p.options for p in polls)
    reflections = [b for b in all_blocks if b.type == "reflection"]
    assert any(getattr(r, "share", "") == "team" for r in reflections)
    assert any(getattr(r, "min_words", 0) > 0 for r in reflections)
    kinds = {getattr(b, "kind", "") for b in all_blocks if b.type == "callout"}
    assert kinds == {"note", "tip", "warning"}


def _measure_polls(course: Course, module_index: int, measure: str) -> list[Poll]:
    module = course.modules[module_index]
    return [b for lesson in module.lessons for b in lesson.blocks if isinstance(b, Poll) and b.measure == measure]


def test_confidence_measured_before_and_after_in_the_same_words_and_scale(course: Course) -> None:
    before = _measure_polls(course, 0, "confidence")
    after = _measure_polls(course, -1, "confidence")
    assert len(before) == 1 and len(after) == 1
    first, last = before[0], after[0]
    assert first.id != last.id
    assert first.scale is not None and last.scale is not None
    assert (first.scale.low, first.scale.high) == (last.scale.low, last.scale.high) == (1, 5)
    assert first.scale.labels == last.scale.labels
    assert len(first.scale.labels) == 5
    assert text_of(first.prompt_html) == text_of(last.prompt_html)
    assert "equipped to turn my ideas into impactful outcomes" in text_of(first.prompt_html)


def test_other_baseline_measures_are_repeated_at_the_end(course: Course) -> None:
    start = {
        b.measure: b for lesson in course.modules[0].lessons for b in lesson.blocks if isinstance(b, Poll) and b.measure
    }
    finish = {
        b.measure: b
        for lesson in course.modules[-1].lessons
        for b in lesson.blocks
        if isinstance(b, Poll) and b.measure
    }
    assert len(start) >= 2
    assert set(start) == set(finish)
    for measure, poll in start.items():
        again = finish[measure]
        assert text_of(poll.prompt_html) == text_of(again.prompt_html), measure
        assert [o.text for o in poll.options] == [o.text for o in again.options], measure
        assert (poll.scale is None) == (again.scale is None), measure
        if poll.scale and again.scale:
            assert poll.scale == again.scale, measure


def test_total_duration_is_about_three_hours(course: Course) -> None:
    durations = [lesson.duration for lesson in course.lessons()]
    assert all(d for d in durations), "every lesson has a duration"
    total = sum(d or 0 for d in durations)
    assert 2.5 * 3600 <= total <= 3.5 * 3600, f"{total / 3600:.2f} hours"


def _video(course: Course) -> Video:
    videos = [b for b in blocks(course) if isinstance(b, Video)]
    assert len(videos) == 1
    return videos[0]


def _cues(vtt: str) -> list[tuple[str, str]]:
    """(timing line, cue text) for every cue of a WebVTT file."""
    cues = []
    for chunk in re.split(r"\n\s*\n", vtt.strip())[1:]:
        lines = chunk.splitlines()
        at = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if at is not None:
            cues.append((lines[at], " ".join(lines[at + 1 :]).strip()))
    return cues


def test_video_is_small_with_parsable_captions_and_full_transcript(course: Course) -> None:
    video = _video(course)
    src = COURSE_DIR / video.src
    assert src.suffix == ".mp4" and src.is_file()
    assert 0 < src.stat().st_size < MAX_VIDEO_BYTES
    assert video.poster and (COURSE_DIR / video.poster).is_file()
    captions = (COURSE_DIR / video.captions).read_text(encoding="utf-8")
    assert captions.startswith("WEBVTT")
    cues = _cues(captions)
    assert len(cues) >= 4
    for timing, text in cues:
        assert _TIMING.match(timing), timing
        assert text, timing
    # The transcript is the full narration: every caption, word for word, in order.
    assert text_of(video.transcript_html) == " ".join(text for _, text in cues)
    assert (COURSE_DIR / "media" / "make-video.sh").is_file()


def test_capstone_has_six_stages_with_guidance(course: Course) -> None:
    capstone = course.capstone
    assert capstone is not None
    assert (capstone.team_min, capstone.team_max) == (2, 8)
    assert [s.id for s in capstone.stages] == STAGES
    assert [s.kind for s in capstone.stages] == ["ideas", "decision", "plan", "measurements", "reflection",
                                                 "case_study"]
    for stage in capstone.stages:
        assert len(stage.guidance_html.split()) > 100, stage.id
        assert "<h2>" in stage.guidance_html and "mc:block" not in stage.guidance_html


def test_block_ids_are_unique(course: Course) -> None:
    ids = [b.id for b in blocks(course) if b.interactive]
    assert len(ids) == len(set(ids))
