"""How long Python's full garbage collection stops the server, with learners' records kept in memory.

    .venv/bin/python bench/gc_pause.py                  # 1,000 and 5,000 kept learners
    .venv/bin/python bench/gc_pause.py --learners 2000

The store keeps each signed-in learner's records, and the progress worked out from them, between requests
(``Store.records``, up to ``MAX_KEPT_RECORDS``). A full collection walks every object the garbage collector tracks
with the event loop stopped, so what the kept records hold is a pause every request waiting at that moment shares.

What it does, in this process: builds the Innovation Masterclass, seeds a temporary store with learners who viewed
every lesson and answered every question (right or wrong at random, one to three attempts), reads each learner's
records through the store and evaluates their progress as a lesson view does, then sets up the collector as
``masterclass serve`` does and times full collections (median of 7). The floor is the same process before any
record is read. It prints a Markdown table. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def full_collection() -> tuple[float, int]:
    """Median milliseconds of a full collection, and how many objects the collector tracks."""
    times = []
    for _ in range(7):
        began = time.perf_counter()
        gc.collect()
        times.append(1000 * (time.perf_counter() - began))
    return statistics.median(times), len(gc.get_objects())


def seed(store, course, learners: int, rng: random.Random) -> list[int]:  # type: ignore[no-untyped-def]
    from course.model import Question
    from engine import progress

    enrolments = []
    with store.transaction():
        for n in range(learners):
            user = store.create_user(name=f"Learner {n}", email=f"learner{n}@example.gov.uk",
                                     department="Cabinet Office", password_hash="x")
            enrolment, _ = store.enrol(user.id, course.iri)
            enrolments.append(enrolment.id)
            for lesson in course.lessons():
                store.record_view(enrolment.id, lesson.iri)
                for block in lesson.blocks:
                    if isinstance(block, Question):
                        for _attempt in range(rng.randint(1, 3)):
                            right = rng.random() < 0.7
                            store.add_attempt(enrolment.id, block_iri=block.iri, lesson_iri=lesson.iri,
                                              response=sorted(rng.sample(range(len(block.options)), 1)),
                                              score=1.0 if right else 0.0, success=right, max_attempts=None)
            for kind, iri, score in progress.evaluate(course, store.records(enrolment.id)).new_completions:
                store.add_completion(enrolment.id, iri, kind, score)
    return enrolments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, action="append",
                        help="kept learners to measure (repeatable; default 1,000 and 5,000)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from course import build
    from engine import progress
    from engine.cli import settle_garbage_collector
    from engine.storage import db

    course = build(ROOT / "content" / "innovation-masterclass").course
    assert course is not None
    counts = sorted(args.learners or [1000, db.MAX_KEPT_RECORDS])
    rng = random.Random(1)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        store = db.Store(Path(folder) / "gc.db")
        enrolments = seed(store, course, max(counts), rng)
        store._forget_records()  # start from nothing kept, as a server does
        settle_garbage_collector()
        floor_ms, floor_objects = full_collection()
        rows.append(("floor: nothing kept", floor_ms, floor_objects, None))
        read = 0
        for count in counts:
            for enrolment_id in enrolments[read:count]:
                progress.evaluate(course, store.records(enrolment_id))
            read = count
            kept = len(store._kept)
            ms, objects = full_collection()
            rows.append((f"{kept:,} learners' records kept", ms, objects, (objects - floor_objects) / kept))
        store.close()
    print(f"Python {sys.version.split()[0]}, {course.title}: {len(course.lessons())} lessons, "
          f"{sum(len(lesson.graded) for lesson in course.lessons())} graded questions per learner\n")
    print("| Heap | Full collection (median of 7) | Objects tracked | Per kept learner |")
    print("|---|---|---|---|")
    for label, ms, objects, per in rows:
        print(f"| {label} | {ms:.1f} ms | {objects:,} | {'—' if per is None else f'{per:.0f}'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
