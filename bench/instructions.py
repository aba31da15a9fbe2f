"""Instructions per lesson view or answer, counted by valgrind's callgrind in process: the CPU work a request takes,
in a measure that does not move with the machine's speed.

The served benchmark's CPU figures move by half from one half hour to the next on a shared machine (see
docs/performance.md, runtime rounds 9 and 10), more than most changes to a lesson page save. The instructions the
event loop's thread executes for the same requests on the same data move by under 0.1% between runs, so two
revisions can be compared in one run. Each revision (a git revision, checked out into a temporary worktree, or
"." for the working tree) serves the same requests, in process through the ASGI app with the Guard middleware,
to a fresh copy of the runtime benchmark's seeded database; the first revision given is the base.

What it does not see: uvicorn's parsing and sending (the same code for every revision), time spent waiting
(locks, the disk), and the cost of an instruction, which differs (a cache miss on a large table).

Needs valgrind (``apt-get install valgrind``). Example:

    .venv/bin/python bench/instructions.py HEAD~3 .            # lesson views, 2,000 measured
    .venv/bin/python bench/instructions.py --kind answer HEAD .
    .venv/bin/python bench/instructions.py --kind repeat HEAD .   # views the session has made before
    .venv/bin/python bench/instructions.py --batch 8 HEAD .        # 8 requests at a time, one commit group

By default the requests run one after another, so each is a group commit of its own (decision 0010). Served, the
requests handled in one turn of the event loop share a group, and what a commit costs is shared among them:
``--batch N`` starts N requests at once, as N clients would, and counts them the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WARM_CLIENTS = 500
POOL = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revisions", nargs="*", default=["."], help='git revisions; "." is the working tree')
    parser.add_argument("--kind", choices=["lesson", "repeat", "answer"], default="lesson",
                        help="repeat: the lesson views again, each one the learner's session has made before")
    parser.add_argument("--requests", type=int, default=2000, help="requests measured (at most 8 per learner "
                        f"of {POOL} for lessons, 4 for answers)")
    parser.add_argument("--learners", type=int, default=20_000, help="learners in the seeded database")
    parser.add_argument("--batch", type=int, default=1, help="requests started at once, sharing commit groups "
                        "(default 1: one after another)")
    parser.add_argument("--drive", nargs=2, metavar=("TREE", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        _drive(Path(args.drive[0]), Path(args.drive[1]), args.kind, args.requests, args.learners, args.batch)
        return
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(BENCH))
    import runtime_bench as rb

    rows = []
    with tempfile.TemporaryDirectory(prefix="instructions-") as scratch:
        trees: list[Path] = []
        try:
            for n, revision in enumerate(args.revisions):
                trees.append(ROOT if revision == "." else _worktree(revision, Path(scratch) / f"tree{n}"))
            # The database is seeded at the first revision's schema, which every revision can open (a later one
            # migrates its copy as it opens it, before counting starts).
            if trees[0] == ROOT:
                plan, _course = rb.load_plan()
                source, _meta = rb.seeded_database(args.learners, plan, _course, False,
                                                   lambda m: print(m, file=sys.stderr))
            else:
                source = _seeded_by(trees[0], args.learners)
            for revision, tree in zip(args.revisions, trees, strict=True):
                print(f"counting {revision} ...", file=sys.stderr)
                rows.append((revision, *_count(tree, source, Path(scratch), args)))
        finally:
            for tree in trees:
                if tree != ROOT:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    base = rows[0][1]
    together = "one after another" if args.batch == 1 else f"{args.batch} at a time"
    print(f"Instructions per {args.kind} request, in process under callgrind: {args.requests:,} requests ({together}) "
          f"after {WARM_CLIENTS} learners' warm-up, on a fresh copy of {source.name} ({args.learners:,} learners).\n")
    print("| Revision | Event loop's thread, per request | Against the first | All threads, per request | Responses |")
    print("|---|---|---|---|---|")
    for revision, loop, every, statuses in rows:
        print(f"| {revision} | {loop:,.0f} | {100 * (loop - base) / base:+.2f}% | {every:,.0f} | {statuses} |")


def _seeded_by(tree: Path, learners: int) -> Path:
    """The seeded database at the schema of the revision in ``tree``, seeded by that revision's benchmark if this
    checkout's cache (bench/out) lacks it. Each revision measured after it migrates its own copy as it opens it,
    before counting starts; a revision cannot open a database of a later schema.

    The file name is ``runtime_bench.seeded_database``'s, written out here rather than calling it: before round 14
    that function took a cache of any other schema for an older one and migrated it, which a revision cannot do to
    a later schema's file."""
    script = (
        "import sys\n"
        f"sys.path[:0] = [{str(tree)!r}, {str(tree / 'bench')!r}]\n"
        "from pathlib import Path\n"
        "import runtime_bench as rb\n"
        "from engine.storage.migrations import MIGRATIONS\n"
        "plan, course = rb.load_plan()\n"
        f"path = Path({str(BENCH / 'out')!r}) / "
        f"f'runtime-{learners}-schema{{len(MIGRATIONS)}}-seed{{rb.SEED_VERSION}}-{{plan.key()}}.db'\n"
        "if not (path.exists() and path.with_name(path.name + '.json').exists()):\n"
        "    path.parent.mkdir(parents=True, exist_ok=True)\n"
        f"    rb.seed_database(path, {learners}, plan, course, lambda m: print(m, file=sys.stderr))\n"
        "print(path)\n"
    )
    found = subprocess.run([sys.executable, "-c", script], cwd=tree, capture_output=True, text=True)
    if found.returncode != 0:
        raise SystemExit(f"could not seed a database for {tree}:\n{found.stderr[-3000:]}")
    return Path(found.stdout.strip().splitlines()[-1])


def _worktree(revision: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(where), revision],
                   check=True)
    (where / "node_modules").symlink_to(ROOT / "node_modules")
    return where


def _count(tree: Path, source: Path, scratch: Path, args: argparse.Namespace) -> tuple[float, float, str]:
    db = scratch / "copy.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, db)
    if Path(f"{source}.secret").exists():  # made by the first server on it: the runtime benchmark's, if it ran
        shutil.copyfile(f"{source}.secret", f"{db}.secret")
    out = scratch / "callgrind.out"
    for old in scratch.glob("callgrind.out*"):
        old.unlink()
    command = ["valgrind", "--tool=callgrind", "--separate-threads=yes", "--instr-atstart=no",
               f"--callgrind-out-file={out}", sys.executable, str(Path(__file__).resolve()),
               "--drive", str(tree), str(db), "--kind", args.kind, "--requests", str(args.requests),
               "--learners", str(args.learners), "--batch", str(args.batch)]
    run = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    statuses = re.findall(r"^STATUSES (.*)$", run.stdout, re.M)
    if run.returncode != 0 or not statuses:
        raise SystemExit(f"the driver failed on {tree}:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}")
    totals = {path.name: _total(path) for path in scratch.glob("callgrind.out-*")}
    loop = totals.get("callgrind.out-01", 0)
    return loop / args.requests, sum(totals.values()) / args.requests, statuses[-1]


def _total(path: Path) -> int:
    match = re.search(r"^totals: (\d+)", path.read_text(errors="replace"), re.M)
    return int(match.group(1)) if match else 0


def _drive(tree: Path, db: Path, kind: str, requests: int, learners: int, batch: int) -> None:
    """Run inside valgrind: serve the requests in process, instrumented only while the measured ones run."""
    sys.path.insert(0, str(BENCH))
    sys.path.insert(0, str(tree))  # the revision's engine, before this checkout's
    import runtime_bench as rb

    from engine.settings import load_settings
    from engine.storage.db import Store
    from engine.web import create_app
    from engine.web.courses import discover_courses

    plan, _course = rb.load_plan()
    rng = random.Random(7)
    pool = rb.make_pool(db, plan, learners, POOL, rng)
    store = Store(db)
    app = create_app(settings=load_settings(None), store=store, courses=discover_courses(tree / "content"))
    statuses: dict[int, int] = {}

    async def call(line: str) -> tuple[int, bytes]:
        method, path, cookie, body = line.split("\t", 3)
        data = body.encode()
        headers = [(b"host", b"127.0.0.1"), (b"cookie", cookie.encode())]
        if data:
            headers += [(b"content-type", b"application/x-www-form-urlencoded"),
                        (b"content-length", str(len(data)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}
        sent = False
        out: dict[str, Any] = {"status": 0}
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            await asyncio.Event().wait()  # a client that stays connected
            raise AssertionError

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                out["status"] = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        return out["status"], b"".join(chunks)

    async def run() -> None:
        token = re.compile(rb'name="csrf_token" value="([0-9a-f]+)"')
        for client in pool:
            status, body = await call(f"GET\t{plan.lessons[0].path}\t{client.cookie}\t")
            found = token.search(body)
            if status != 200 or found is None:
                raise SystemExit(f"learner {client.user_id} could not open a lesson: {status}")
            client.csrf = found.group(1).decode()
        for line in rb.lesson_requests(plan, pool[:WARM_CLIENTS], random.Random(1)):
            await call(line)
        if kind in ("lesson", "repeat"):
            lines = rb.lesson_requests(plan, pool, random.Random(2))
            if kind == "repeat":
                for line in lines[:requests]:
                    await call(line)
        else:
            lines = rb.answer_requests(plan, pool, random.Random(3))
        if len(lines) < requests:
            raise SystemExit(f"only {len(lines)} {kind} requests can be made: ask for fewer")
        _instrument(True)
        measured = lines[:requests]
        for start in range(0, requests, batch):
            for status, _body in await asyncio.gather(*[call(line) for line in measured[start:start + batch]]):
                statuses[status] = statuses.get(status, 0) + 1
        _instrument(False)

    asyncio.run(run())
    print("STATUSES " + ", ".join(f"{n:,} × {status}" for status, n in sorted(statuses.items())), flush=True)


def _instrument(on: bool) -> None:
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


if __name__ == "__main__":
    main()
