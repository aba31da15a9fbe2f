"""Benchmark the course compiler against its floor (issue 2).

    .venv/bin/python bench/build_bench.py              # 2,000 lessons
    .venv/bin/python bench/build_bench.py --quick      # 200 lessons, a smoke run
    .venv/bin/python bench/build_bench.py --lessons 500 --profile

It generates an N-lesson course in the authoring format into a temporary
folder, then measures in one run, on this machine:

1. the floor: reading every lesson file from disk and rendering its body with
   bare markdown-it-py (``MarkdownIt("commonmark").render(text)``), best of 3;
2. a full cold build (a new ``course.Builder`` -> ``.build()`` ->
   ``course.write_compiled`` into an empty output folder), best of 3, and the
   build alone without writing; the floor and the builds are run in turn, so
   each full build can also be set against the floor run just before it;
3. one-lesson rebuilds: a warm Builder, one lesson edited, ``.build()`` +
   ``write_compiled`` to the same output folder, median and max of 20 edits
   (and 20 more with ``.build(changed=[path])``, as a file watcher calls it);
   and the cold-process ``masterclass build DIR -o OUT`` after one edit;
4. the peak RSS of a full build, in a child process.

It prints a Markdown table with each measure, its target and pass/fail. The
targets are for 2,000 lessons. Timings are reported, never asserted: the only
assertions are that the generated course builds with zero errors and that a
rebuild re-parses exactly the edited lesson. Temporary folders are removed on
exit.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from markdown_it import MarkdownIt

import course
from course import Builder, write_compiled

MODULES = 20
FLOOR_TARGET = 1.5
"""A full build (with writing) may take at most this many times the floor."""
REBUILD_TARGET_MS = 50.0
RSS_TARGET_MB = 300.0
EDITS = 20
CLI_EDITS = 3
CHILD_TIMEOUT = 600

TOPICS = [
    "discovery", "framing", "evidence", "prototyping", "testing", "scaling", "funding", "teams",
    "risk", "users", "data", "policy", "procurement", "delivery", "measurement", "storytelling",
    "partnerships", "ethics", "leadership", "learning",
]
WORDS = (
    "team service user change problem idea evidence test learn small risk budget policy outcome value "
    "public citizen prototype feedback assumption experiment method design research interview insight "
    "journey need pilot scale measure data metric goal plan sprint review stakeholder partner sponsor "
    "decision option trade-off constraint capacity skill culture habit practice pattern signal noise "
    "question answer framing context system process tool model approach principle example story case "
    "office department council agency network community market price cost benefit impact result "
    "trial iteration release version draft sketch map canvas workshop session meeting retrospective "
    "backlog priority roadmap vision mission strategy tactic lever barrier enabler permission mandate"
).split()
VERBS = (
    "shapes frames tests changes reveals supports limits improves tracks explains guides informs "
    "challenges strengthens reduces widens narrows connects clarifies tells shows helps"
).split()
ADJECTIVES = (
    "small early cheap useful clear honest shared public local open careful quick rough real "
    "measurable visible hidden common rare new old"
).split()
HEADINGS = [
    "Why it matters", "What the evidence says", "A worked example", "Common mistakes", "Try it yourself",
    "Key ideas", "In practice", "How to start", "What good looks like", "Going further", "A short story",
    "Questions to ask", "Before you begin", "Pulling it together",
]


@dataclass
class LessonPlan:
    module: str
    file: str
    """Course-relative path, e.g. ``modules/03-evidence/007-small-test-7.md``."""
    number: int
    slug: str
    title: str


@dataclass
class Generated:
    root: Path
    lessons: list[LessonPlan]
    words: int = 0
    bytes: int = 0
    blocks: dict[str, int] = field(default_factory=dict)


class Writer:
    """Realistic lesson prose from a seeded random source."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def sentence(self, links: list[str]) -> str:
        rng = self.rng
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
        words.insert(rng.randint(1, 3), rng.choice(VERBS))
        words.insert(rng.randint(0, 2), rng.choice(ADJECTIVES))
        words[0] = words[0].capitalize()
        decorations = rng.random()
        at = rng.randrange(len(words))
        if decorations < 0.15:
            words[at] = f"*{words[at]}*"
        elif decorations < 0.25:
            words[at] = f"**{words[at]}**"
        elif decorations < 0.30:
            words[at] = f"`{words[at]}`"
        elif decorations < 0.36:
            words[at] = f"[{words[at]}](https://example.org/guide/{rng.choice(WORDS)})"
        elif decorations < 0.40 and links:
            words[at] = f"[{words[at]}]({rng.choice(links)})"
        return " ".join(words) + rng.choice([".", ".", ".", "?", "!"])

    def paragraph(self, links: list[str], sentences: tuple[int, int] = (3, 6)) -> str:
        return " ".join(self.sentence(links) for _ in range(self.rng.randint(*sentences)))

    def phrase(self, low: int = 3, high: int = 8) -> str:
        text = " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(low, high)))
        return text[0].upper() + text[1:]

    def bullet_list(self, links: list[str]) -> str:
        if self.rng.random() < 0.3:
            return "\n".join(f"{n}. {self.phrase(4, 12)}" for n in range(1, self.rng.randint(3, 6) + 1))
        items = []
        for _ in range(self.rng.randint(3, 6)):
            item = self.phrase(4, 12)
            if self.rng.random() < 0.25:
                item = f"**{self.phrase(1, 2)}**: {item}"
            items.append(f"- {item}")
        return "\n".join(items)

    def table(self) -> str:
        cols = self.rng.randint(2, 4)
        head = "| " + " | ".join(self.phrase(1, 2) for _ in range(cols)) + " |"
        rule = "|" + "---|" * cols
        rows = ["| " + " | ".join(self.phrase(1, 4) for _ in range(cols)) + " |"
                for _ in range(self.rng.randint(2, 5))]
        return "\n".join([head, rule, *rows])


def _blocks_for(rng: random.Random, w: Writer, g: int) -> list[tuple[str, str]]:
    """The interactive blocks of lesson number ``g`` (0-based in the course): (type, text)."""
    blocks: list[tuple[str, str]] = []
    if rng.random() < 0.5:
        for k in range(1, rng.randint(1, 3) + 1):
            count = rng.randint(2, 4)
            correct = rng.randrange(count)
            options = []
            for o in range(count):
                mark = "(x)" if o == correct else "( )"
                feedback = "Right." if o == correct else "Not quite."
                options.append(f"- {mark} {w.phrase(3, 8)}\n  > {feedback} {w.phrase(4, 10)}.")
            hint = f"\n\nhint: think about *{rng.choice(WORDS)}*" if rng.random() < 0.5 else ""
            blocks.append(("question", f"::: question id=q-{g}-{k}\n{w.phrase(6, 14)}?\n\n"
                                       + "\n".join(options) + hint + "\n:::"))
    if rng.random() < 0.25:
        blocks.append(("poll", f"::: poll id=p-{g} measure=confidence\nI feel equipped to {w.phrase(3, 6).lower()}."
                               "\n\nscale: 1-5\nlabels: Not at all | A little | Somewhat | Mostly | Fully\n:::"))
    if rng.random() < 0.25:
        blocks.append(("reflection", f"::: reflection id=r-{g} min_words=20\n"
                                     f"What would you change about {w.phrase(3, 6).lower()}?\n:::"))
    if rng.random() < 0.2:
        items = "\n".join(f"- [ ] {w.phrase(3, 7)}" for _ in range(rng.randint(2, 5)))
        blocks.append(("checklist", f"::: checklist id=c-{g}\n{items}\n:::"))
    if rng.random() < 0.3:
        blocks.append(("callout", f"::: callout kind=tip\n{w.paragraph([], (1, 2))}\n:::"))
    return blocks


def _word_count(text: str) -> int:
    return len(text.split())


def generate(root: Path, lessons: int, seed: int = 2) -> Generated:
    """Write an N-lesson course in the authoring format under ``root``."""
    rng = random.Random(seed)
    w = Writer(rng)
    per_module = [lessons // MODULES + (1 if m < lessons % MODULES else 0) for m in range(MODULES)]
    module_ids = [f"{m + 1:02d}-{TOPICS[m % len(TOPICS)]}" for m in range(MODULES)]
    plans: list[LessonPlan] = []
    for m, module_id in enumerate(module_ids):
        for n in range(per_module[m]):
            slug = f"{rng.choice(ADJECTIVES)}-{rng.choice(WORDS)}-{n + 1}"
            title = f"{w.phrase(2, 5)}"
            plans.append(LessonPlan(module_id, f"modules/{module_id}/{n + 1:03d}-{slug}.md", n + 1, slug, title))
    generated = Generated(root, plans)

    root.mkdir(parents=True, exist_ok=True)
    modules_yaml = "\n".join(f"  - {m}" for m in module_ids)
    (root / "course.yaml").write_text(
        "id: https://example.org/courses/bench\n"
        "title: Benchmark course\n"
        "description: A generated course for measuring the compiler.\n"
        f"modules:\n{modules_yaml}\n",
        encoding="utf-8",
    )
    for m, module_id in enumerate(module_ids):
        folder = root / "modules" / module_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "module.yaml").write_text(
            f"title: {TOPICS[m % len(TOPICS)].capitalize()}\nsummary: {w.phrase(5, 10)}.\n", encoding="utf-8")

    by_module: dict[str, list[LessonPlan]] = {}
    for plan in plans:
        by_module.setdefault(plan.module, []).append(plan)
    for g, plan in enumerate(plans):
        same_module = [p for p in by_module[plan.module] if p is not plan]
        links = [p.file.rsplit("/", 1)[1] for p in rng.sample(same_module, min(3, len(same_module)))]
        other = rng.choice(plans)
        if other is not plan and other.module != plan.module:
            links.append(f"../{other.module}/{other.file.rsplit('/', 1)[1]}")
        target_words = rng.randint(400, 800)
        blocks = _blocks_for(rng, w, g)
        for kind, _ in blocks:
            generated.blocks[kind] = generated.blocks.get(kind, 0) + 1
        parts = [w.paragraph(links)]
        words = _word_count(parts[0]) + sum(_word_count(text) for _, text in blocks)
        headings = rng.sample(HEADINGS, len(HEADINGS))
        placed = 0
        while words < target_words:
            section = [f"## {headings[len(parts) % len(headings)]}", w.paragraph(links)]
            roll = rng.random()
            if roll < 0.4:
                section.append(w.bullet_list(links))
            elif roll < 0.55:
                section.append(w.table())
            section.append(w.paragraph(links))
            if placed < len(blocks) and rng.random() < 0.6:
                section.append(blocks[placed][1])
                placed += 1
            text = "\n\n".join(section)
            words += _word_count(text)
            parts.append(text)
        parts.extend(text for _, text in blocks[placed:])
        if g + 1 < len(plans) and plans[g + 1].module == plan.module:
            following = plans[g + 1].file.rsplit("/", 1)[1]
            parts.append(f"Up next: [{plans[g + 1].title.lower()}]({following}).")
        duration = rng.choice(["5m", "8m", "10m", "12m", "15m", "20m"])
        body = "\n\n".join(parts)
        text = f"---\ntitle: {plan.title}\nduration: {duration}\n---\n\n{body}\n"
        data = text.encode("utf-8")
        (root / plan.file).write_bytes(data)
        generated.words += _word_count(body)
        generated.bytes += len(data)
    return generated


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Timing:
    wall: float
    cpu: float
    """This process's user + system CPU time."""


def timed(fn: Callable[[], object]) -> Timing:
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    fn()
    return Timing(time.perf_counter() - started, time.process_time() - cpu)


def best_of(runs: int, fn: Callable[[], object]) -> float:
    return min(timed(fn).wall for _ in range(runs))


def body_of(text: str) -> str:
    """A lesson's Markdown without its front matter."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end >= 0:
            return text[end + 5:]
    return text


def floor_run(root: Path) -> None:
    """The floor: read every lesson file and render its body with bare markdown-it-py."""
    md = MarkdownIt("commonmark")
    for path in sorted(root.glob("modules/*/*.md")):
        md.render(body_of(path.read_text(encoding="utf-8")))


def full_build(root: Path, out: Path) -> course.BuildResult:
    result = Builder(root).build()
    assert result.ok and result.course is not None, result.summary()
    write_compiled(result.course, root, out)
    return result


def check_course(root: Path, gen: Generated) -> course.BuildResult:
    result = Builder(root).build()
    errors = result.errors
    if errors:
        shown = "\n".join(d.format() for d in errors[:20])
        raise AssertionError(f"the generated course has {len(errors)} errors:\n{shown}")
    assert result.ok and result.course is not None
    assert len(result.course.lessons()) == len(gen.lessons), "every generated lesson is in the course"
    return result


def edit_lesson(root: Path, plan: LessonPlan, n: int) -> None:
    """Append a paragraph to a lesson and make sure its mtime changes."""
    path = root / plan.file
    before = path.stat().st_mtime_ns
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"\nAn edit, number {n}, with *emphasis* and a [link](https://example.org/edit/{n}).\n")
    after = path.stat().st_mtime_ns
    if after <= before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def fresh_dir(base: Path, name: str) -> Path:
    path = base / name
    if path.exists():
        shutil.rmtree(path)
    return path


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "masterclass"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from engine.cli import main; main()"]


def run_cli(args: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run([*cli_command(), *args], capture_output=True, text=True, timeout=CHILD_TIMEOUT,
                          check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise AssertionError(f"masterclass {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds, proc.stdout


def python_startup() -> float:
    """Wall time of a bare ``python -c "import engine.cli"``: the CLI's own floor."""
    def once() -> None:
        subprocess.run([sys.executable, "-c", "import engine.cli"], check=True, timeout=CHILD_TIMEOUT)
    return best_of(3, once)


_RSS_CHILD = r"""
import sys
from pathlib import Path

def hwm():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

import course
baseline = hwm()
root, out = Path(sys.argv[1]), Path(sys.argv[2])
result = course.Builder(root).build()
assert result.ok and result.course is not None, result.summary()
course.write_compiled(result.course, root, out)
print(baseline, hwm())
"""


def peak_rss(root: Path, out: Path) -> tuple[float, float]:
    """(peak RSS of a full build, RSS after imports) in MB, measured in a child process."""
    proc = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(root), str(out)], capture_output=True,
                          text=True, timeout=CHILD_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"the RSS child failed:\n{proc.stderr[-2000:]}")
    baseline_kb, peak_kb = (int(v) for v in proc.stdout.split())
    return peak_kb * 1024 / 1e6, baseline_kb * 1024 / 1e6


def profile(label: str, fn: Callable[[], object], top: int = 25) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    print(f"\n## Profile: {label}\n\n```\n{stream.getvalue()}```")


# --- reporting ---------------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    value: str
    target: str = "—"
    ok: bool | None = None

    def cells(self) -> list[str]:
        verdict = "—" if self.ok is None else "pass" if self.ok else "**fail**"
        return [self.measure, self.value, self.target, verdict]


def table(rows: list[Row]) -> str:
    lines = ["| Measure | Value | Target | Result |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--lessons", type=int, default=2000, help="lessons in the generated course (default 2000)")
    parser.add_argument("--quick", action="store_true", help="a smoke run with 200 lessons")
    parser.add_argument("--profile", action="store_true",
                        help="also print cProfile hot spots of a full build and of a one-lesson rebuild")
    parser.add_argument("--seed", type=int, default=2, help="seed for the generated course")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of floor, full build and build-only runs, taken in turn (default 3)")
    args = parser.parse_args(argv)
    lessons = 200 if args.quick else args.lessons
    if lessons < MODULES:
        parser.error(f"--lessons must be at least {MODULES}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="masterclass-bench-") as tmp:
        base = Path(tmp)
        root = base / "bench"
        started = time.perf_counter()
        gen = generate(root, lessons, seed=args.seed)
        generated_in = time.perf_counter() - started
        checked = check_course(root, gen)
        assert checked.course is not None
        blocks = sum(len(lesson.blocks) for lesson in checked.course.lessons())
        print(f"Generated {len(gen.lessons)} lessons in {MODULES} modules ({gen.words:,} words, "
              f"{gen.bytes / 1e6:.1f} MB of Markdown, blocks: "
              + ", ".join(f"{k} {v}" for k, v in sorted(gen.blocks.items()))
              + f") in {generated_in:.1f}s; check: {checked.summary()}", file=sys.stderr)

        # 1 and 2. The floor and full cold builds, interleaved so that both see the same machine load.
        floor_runs: list[Timing] = []
        full_runs: list[Timing] = []
        build_runs: list[Timing] = []
        for n in range(args.rounds):
            floor_runs.append(timed(lambda: floor_run(root)))
            out = fresh_dir(base, f"out-full-{n}")
            full_runs.append(timed(partial(full_build, root, out)))
            shutil.rmtree(out)
            build_runs.append(timed(lambda: Builder(root).build()))
        floor, full, build_only = (min(r.wall for r in runs) for runs in (floor_runs, full_runs, build_runs))
        floor_cpu, full_cpu = (min(r.cpu for r in runs) for runs in (floor_runs, full_runs))
        paired = statistics.median(f.wall / fl.wall for f, fl in zip(full_runs, floor_runs, strict=True))
        print(f"floor {secs(floor)}, full {secs(full)}, build only {secs(build_only)}", file=sys.stderr)

        # 3. One-lesson rebuilds with a warm Builder.
        out = fresh_dir(base, "out-warm")
        builder = Builder(root)
        first = builder.build()
        assert first.ok and first.course is not None
        write_compiled(first.course, root, out)
        rng = random.Random(args.seed + 1)
        rebuilds, build_parts, write_parts, hinted = [], [], [], []
        for n in range(2 * EDITS):
            plan = rng.choice(gen.lessons)
            edit_lesson(root, plan, n)
            gc.collect()
            t0 = time.perf_counter()
            # Every other edit passes the edited path as a file watcher would (masterclass preview does).
            result = builder.build() if n % 2 == 0 else builder.build(changed=[root / plan.file])
            t1 = time.perf_counter()
            assert result.ok and result.course is not None, result.summary()
            written = write_compiled(result.course, root, out)
            t2 = time.perf_counter()
            assert result.parsed == 1 and written == 1, (result.parsed, written)
            if n % 2:
                hinted.append(t2 - t0)
                continue
            rebuilds.append(t2 - t0)
            build_parts.append(t1 - t0)
            write_parts.append(t2 - t1)
        print(f"rebuild median {ms(statistics.median(rebuilds))}, max {ms(max(rebuilds))} "
              f"(build median {ms(statistics.median(build_parts))}, "
              f"write median {ms(statistics.median(write_parts))}; with changed=: "
              f"{ms(statistics.median(hinted))})", file=sys.stderr)

        # 3b. The CLI in a cold process, taking unchanged lessons from its earlier output.
        cli_out = fresh_dir(base, "out-cli")
        cli_full, _ = run_cli(["build", str(root), "-o", str(cli_out)])
        cli_runs = []
        for n in range(CLI_EDITS):
            edit_lesson(root, rng.choice(gen.lessons), EDITS + n)
            seconds, stdout = run_cli(["build", str(root), "-o", str(cli_out)])
            assert "(1 parsed)" in stdout, stdout
            cli_runs.append(seconds)
        startup = python_startup()
        print(f"cli full {secs(cli_full)}, cli rebuild median {ms(statistics.median(cli_runs))}, "
              f"python + import {ms(startup)}", file=sys.stderr)

        # 4. Peak RSS of a full build, in a child.
        rss, rss_imports = peak_rss(root, fresh_dir(base, "out-rss"))
        print(f"peak RSS {rss:.0f} MB (after imports {rss_imports:.0f} MB)", file=sys.stderr)

        if args.profile:
            profile_out = fresh_dir(base, "out-profile")
            profile("full build + write", lambda: full_build(root, profile_out))
            warm = Builder(root)
            warm.build()

            def one_edit() -> None:
                edit_lesson(root, gen.lessons[len(gen.lessons) // 2], 999)
                result = warm.build()
                assert result.course is not None
                write_compiled(result.course, root, profile_out)

            one_edit()
            profile("one-lesson rebuild (build + write)", one_edit)

    ratio = full / floor
    rows = [
        Row(f"Floor: read + render every lesson body with bare markdown-it-py (best of {args.rounds})", secs(floor)),
        Row(f"Full build, cold: new Builder, build + write_compiled to an empty folder (best of {args.rounds})",
            secs(full), f"≤ {FLOOR_TARGET}× floor = {secs(floor * FLOOR_TARGET)}", ratio <= FLOOR_TARGET),
        Row("Ratio full build / floor", f"{ratio:.2f}×", f"≤ {FLOOR_TARGET}×", ratio <= FLOOR_TARGET),
        Row(f"— median of the {args.rounds} paired ratios (each full build over the floor run just before it)",
            f"{paired:.2f}×"),
        Row("— in CPU time (less sensitive to other load on the machine)", f"{full_cpu / floor_cpu:.2f}×"),
        Row(f"Build only, no writing (best of {args.rounds})", f"{secs(build_only)} ({build_only / floor:.2f}× floor)"),
        Row(f"One-lesson rebuild, warm Builder, build + write (median of {EDITS})",
            ms(statistics.median(rebuilds)), f"< {REBUILD_TARGET_MS:.0f} ms",
            statistics.median(rebuilds) * 1000 < REBUILD_TARGET_MS),
        Row(f"One-lesson rebuild, warm Builder (max of {EDITS})", ms(max(rebuilds)),
            f"< {REBUILD_TARGET_MS:.0f} ms", max(rebuilds) * 1000 < REBUILD_TARGET_MS),
        Row("— of which build() / write_compiled() (medians)",
            f"{ms(statistics.median(build_parts))} / {ms(statistics.median(write_parts))}"),
        Row(f"— the same with `build(changed=[path])`, as a file watcher calls it (median of {EDITS})",
            ms(statistics.median(hinted))),
        Row(f"CLI `masterclass build DIR -o OUT` after one edit, cold process (median of {CLI_EDITS})",
            ms(statistics.median(cli_runs))),
        Row("— its floor: `python -c \"import engine.cli\"` (best of 3)", ms(startup)),
        Row("CLI `masterclass build` into an empty folder, cold process", secs(cli_full)),
        Row("Peak RSS of a full build + write (child process, VmHWM)", f"{rss:.0f} MB",
            f"< {RSS_TARGET_MB:.0f} MB", rss < RSS_TARGET_MB),
        Row("— of which Python + imports", f"{rss_imports:.0f} MB"),
    ]
    print(f"Course compiler benchmark: {len(gen.lessons)} lessons, {MODULES} modules, {blocks} blocks, "
          f"{gen.words:,} words ({gen.bytes / 1e6:.1f} MB).")
    print(f"Machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), Python "
          f"{platform.python_version()} ({platform.python_implementation()}), {platform.system()} "
          f"{platform.machine()}; load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the "
          "end.\n")
    print(table(rows))
    if lessons != 2000:
        print("\nThe targets are set for 2,000 lessons.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
