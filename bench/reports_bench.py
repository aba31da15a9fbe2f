"""Benchmark the reports (issue 7) at programme scale: the programme dashboard for every department and for one
department, and the CSV export of every learner, on the runtime benchmark's 470,000-learner database with teams,
case studies and statements added.

    .venv/bin/python bench/reports_bench.py                      # 470,000 learners (copies or seeds the runtime
                                                                 # benchmark's database: minutes the first time)
    .venv/bin/python bench/reports_bench.py --quick              # 20,000 learners, a smoke run
    .venv/bin/python bench/reports_bench.py --source PATH.db     # copy this seeded runtime database

The server is `masterclass serve` on the copied database (its first start applies migration 5, which counts the
report tallies from the records: timed and reported). Requests come one at a time from one client, so each time
is the page's own cost; the floor is the same server's /health in the same run. The script checks that the
dashboard's figures equal a direct count of the records, and that the CSV has one row per enrolled learner.
Targets: p95 under 200 ms for the dashboard of every department and of one department; the CSV export streams
with the server's peak RSS under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import runtime_bench as rb

ROOT = rb.ROOT
OUT = rb.OUT
P95_TARGET_MS = 200.0
RSS_TARGET_MB = 300.0
TEAM_SIZE = 5
STAGE_SHARES = {"ideas": 0.85, "agree": 0.7, "plan": 0.62, "measure": 0.5, "reflect": 0.42, "share": 0.36}
"""The share of teams that completed each capstone stage."""
OUTCOMES = (("worked", 0.5), ("partly", 0.3), ("did_not_work", 0.2))
SCHEMA_KEY = "reports-v2"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def copy_database(source: Path, target: Path) -> float:
    """A consistent copy even while another process writes the source: one backup step under one read lock."""
    began = time.perf_counter()
    for stale in target.parent.glob(target.name + "*"):
        stale.unlink()
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    src.backup(dst)
    dst.close()
    src.close()
    secret = source.with_name(source.name + ".secret")
    if secret.exists():
        target.with_name(target.name + ".secret").write_bytes(secret.read_bytes())
    return time.perf_counter() - began


def seed_capstone(conn: sqlite3.Connection, course_iri: str, rng: random.Random) -> dict[str, int]:
    """Teams of five learners of one department, formed over the year, and how far each team got."""
    users: dict[str, list[tuple[int, str]]] = {}
    for user_id, department, created in conn.execute(
            "SELECT u.id, u.department, e.created_at FROM enrolments e JOIN users u ON u.id = e.user_id"
            " WHERE e.course_iri = ? ORDER BY e.created_at", (course_iri,)):
        users.setdefault(department, []).append((user_id, created))
    teams, members, stages, cases = [], [], [], []
    team_id = 0
    for department, people in users.items():
        for start in range(0, len(people) - TEAM_SIZE + 1, TEAM_SIZE):
            group = people[start:start + TEAM_SIZE]
            team_id += 1
            created = group[-1][1]
            teams.append((team_id, course_iri, f"Team {team_id}", department, f"J{team_id:07d}", group[0][0],
                          created))
            members += [(team_id, uid, course_iri, created) for uid, _ in group]
            for stage, share in STAGE_SHARES.items():
                if rng.random() > share / (1.0 if stage == "ideas" else STAGE_SHARES[_previous(stage)]):
                    break
                stages.append((team_id, stage, created))
            else:
                outcome = rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
                cases.append((team_id, f"Case study {team_id}", "P", "C", "R", "L", "Y", outcome, "Other", 1,
                              "published", created, created, created))
    with conn:
        conn.executemany("INSERT INTO capstone_teams (id, course_iri, name, department, join_code, created_by,"
                         " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", teams)
        conn.executemany("INSERT INTO capstone_members (team_id, user_id, course_iri, joined_at)"
                         " VALUES (?, ?, ?, ?)", members)
        conn.executemany("INSERT INTO capstone_stage_completions VALUES (?, ?, ?)", stages)
        conn.executemany("INSERT INTO capstone_case_studies (team_id, title, problem, change, results, lessons,"
                         " recommend, outcome, theme, version, status, updated_at, submitted_at, published_at)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", cases)
    return {"teams": len(teams), "members": len(members), "stage completions": len(stages),
            "published case studies": len(cases)}


def _previous(stage: str) -> str:
    names = list(STAGE_SHARES)
    return names[names.index(stage) - 1]


def seed_statements(conn: sqlite3.Connection, count: int, course_iri: str) -> int:
    """Statements at programme scale, written by SQL alone (the dashboards never read them; they are here so the
    database is the size a year of the programme makes it)."""
    have = conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0]
    missing = max(0, count - have)
    if not missing:
        return have
    with conn:
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO statements (id, stored, timestamp, verb, actor, object_activity, registration, body)"
            " SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)"
            "   || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),"
            " strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (i % 365) || ' days'),"
            " strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (i % 365) || ' days'),"
            " 'http://adlnet.gov/expapi/verbs/experienced', 'account:' || (i % 470000),"
            " ? || '/lesson-' || (i % 29), NULL,"
            " json_object('verb', json_object('id', 'http://adlnet.gov/expapi/verbs/experienced'),"
            "   'object', json_object('id', ? || '/lesson-' || (i % 29)), 'padding', hex(randomblob(200)))"
            " FROM n", (missing, course_iri, course_iri))
    return count


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def timed(http: Any, paths: list[str], cookie: str, repeats: int, server: Any = None) -> list[float]:
    """Each request's time in ms; the server's CPU ms per request is appended to CPU_MS (other load on the machine
    stretches the first, hardly the second)."""
    out = []
    cpu = server.cpu_seconds() if server is not None else 0.0
    for i in range(repeats):
        path = paths[i % len(paths)]
        began = time.perf_counter()
        response = http.get(path, headers={"Cookie": cookie})
        out.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}: {response.text[:300]}")
    if server is not None:
        CPU_MS.append((server.cpu_seconds() - cpu) * 1000 / repeats)
    return out


CPU_MS: list[float] = []


def figures(html: str) -> dict[str, str]:
    return {k: re.sub(r"<[^>]+>", "", v).strip() for k, v in re.findall(r'data-figure="([^"]+)">(.*?)</', html)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 learners")
    parser.add_argument("--source", type=Path, help="a seeded runtime benchmark database to copy")
    parser.add_argument("--requests", type=int, default=60, help="requests per measure (default 60)")
    parser.add_argument("--statements", type=int, default=2_000_000, help="statements in the database")
    parser.add_argument("--recopy", action="store_true", help="copy the source again even if a copy exists")
    parser.add_argument("--prepare-only", action="store_true", help="prepare the database, measure nothing")
    args = parser.parse_args(argv)
    learners = rb.QUICK_LEARNERS if args.quick else rb.FULL_LEARNERS
    statements_wanted = min(args.statements, learners * 4)
    plan, course = rb.load_plan()
    rng = random.Random(7)
    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / f"reports-{learners}.db"
    meta_path = db.with_name(db.name + ".json")
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if args.recopy or meta.get("key") != SCHEMA_KEY or not db.exists():
        source = args.source
        if source is None:
            found = sorted(OUT.glob(f"runtime-{learners}-*.db"))
            if found:
                source = found[0]
            else:
                source, _ = rb.seeded_database(learners, plan, course, False, log)
        log(f"copying {source} to {db} ...")
        meta = {"key": SCHEMA_KEY, "source": str(source), "copy_seconds": copy_database(source, db)}
        from engine.storage.db import Store
        began = time.perf_counter()
        store = Store(db)  # applies migration 5, whose backfill counts every tally from the records
        meta["migrate_seconds"] = time.perf_counter() - began
        store.close()
        log(f"migrated in {meta['migrate_seconds']:.0f} s; adding teams and statements ...")
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        meta["capstone"] = seed_capstone(conn, plan.iri, rng)
        began = time.perf_counter()
        meta["statements"] = seed_statements(conn, statements_wanted, plan.iri)
        meta["statement_seconds"] = time.perf_counter() - began
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        meta_path.write_text(json.dumps(meta))
    else:
        log(f"using the prepared database {db.relative_to(ROOT)}")
    size_gb = db.stat().st_size / 1e9
    if args.prepare_only:
        log(f"prepared {db.relative_to(ROOT)} ({size_gb:.2f} GB)")
        return 0

    from engine.storage.db import Store
    store = Store(db)
    departments = [d for d, _, _ in rb.DEPARTMENTS]
    admin = store.user_by_email("bench-admin@example.gov.uk") or store.create_user(
        name="Bench Admin", email="bench-admin@example.gov.uk", department=departments[0], password_hash="x",
        role="admin")
    cookie_admin = f"mc_session={store.create_session(admin.id)}; mc_browser=bench-admin"
    largest = store.conn.execute(
        "SELECT u.department FROM enrolments e JOIN users u ON u.id = e.user_id GROUP BY u.department"
        " ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]
    facilitator = store.user_by_email("bench-facilitator@example.gov.uk") or store.create_user(
        name="Bench Facilitator", email="bench-facilitator@example.gov.uk", department=largest, password_hash="x",
        role="facilitator")
    cookie_facilitator = f"mc_session={store.create_session(facilitator.id)}; mc_browser=bench-fac"
    truth = {
        "enrolled": store.conn.execute("SELECT COUNT(*) FROM enrolments WHERE course_iri = ?",
                                       (plan.iri,)).fetchone()[0],
        "completed": store.conn.execute("SELECT COUNT(*) FROM completions WHERE object_iri = ?",
                                        (plan.iri,)).fetchone()[0],
        "teams": store.conn.execute("SELECT COUNT(*) FROM capstone_teams").fetchone()[0],
    }
    counts = {name: store.conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]
              for name in ("users", "enrolments", "lesson_views", "attempts", "responses", "completions",
                           "statements", "capstone_teams", "report_days", "report_months", "report_totals")}
    store.close()

    port = rb.free_port()
    os.environ["MASTERCLASS_ACCESS_LOG"] = "false"
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus = {cpus[0]} if len(cpus) > 1 else None
    if len(cpus) > 1:
        os.sched_setaffinity(0, set(cpus[1:]))
    argv = [str(ROOT / ".venv" / "bin" / "masterclass"), "serve", str(rb.COURSE_DIR), "--db", str(db),
            "--port", str(port)]
    log("starting the server ...")
    server = rb.Server("reports", argv, port, "/health", server_cpus)
    import httpx

    rows: list[tuple[str, str, str, str]] = []
    slug = plan.slug
    try:
        with httpx.Client(base_url=server.url, timeout=300) as http:
            page = http.get(f"/reports/{slug}/", headers={"Cookie": cookie_admin})
            shown = figures(page.text)
            assert shown["enrolled"] == f"{truth['enrolled']:,}", (shown, truth)
            assert shown["completed"] == f"{truth['completed']:,}", (shown, truth)
            assert f"Teams formed: <strong>{truth['teams']:,}</strong>" in page.text
            n = args.requests
            measures: list[tuple[str, list[float], float | None]] = []
            for _ in range(3):
                timed(http, ["/health"], cookie_admin, 5)
            measures.append(("Floor: /health on the same server",
                             timed(http, ["/health"], cookie_admin, n, server), None))
            measures.append(("Dashboard, all departments (admin)",
                             timed(http, [f"/reports/{slug}/"], cookie_admin, n, server), P95_TARGET_MS))
            one = [f"/reports/{slug}/?department={httpx.URL('', params={'d': d}).query.decode()[2:]}"
                   for d in departments]
            measures.append(("Dashboard, one department (admin; each of the 10 in turn)",
                             timed(http, one, cookie_admin, n, server), P95_TARGET_MS))
            measures.append((f"Dashboard, one department (facilitator, {largest})",
                             timed(http, [f"/reports/{slug}/"], cookie_facilitator, n, server), P95_TARGET_MS))
            today = time.gmtime()
            ragged = (f"/reports/{slug}/?from-day=17&from-month={(today.tm_mon + 5) % 12 + 1}"
                      f"&from-year={today.tm_year - 1}&to-day=9&to-month={today.tm_mon}&to-year={today.tm_year}")
            measures.append(("Dashboard, all departments, enrolled between two dates (ragged months)",
                             timed(http, [ragged], cookie_admin, n, server), None))
            measures.append(("Learner list, first page", timed(http, [f"/reports/{slug}/learners"], cookie_admin,
                                                                max(10, n // 3), server), None))
            measures.append(("Learner list, search by name",
                             timed(http, [f"/reports/{slug}/learners?search=patel"], cookie_admin, max(10, n // 3),
                                   server),
                             None))
            before = server.memory()
            began = time.perf_counter()
            lines = 0
            size = 0
            with http.stream("GET", f"/reports/{slug}/learners.csv", headers={"Cookie": cookie_admin}) as response:
                assert response.status_code == 200, response.status_code
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    lines += chunk.count(b"\n")
            export_seconds = time.perf_counter() - began
            after = server.memory()
            assert lines - 1 >= truth["enrolled"] - 5, (lines, truth)  # names may hold no newlines; header row
    finally:
        server.stop()

    print("\n## Reports benchmark\n")
    print(f"Database: {db.relative_to(ROOT)}, {size_gb:.2f} GB: "
          + ", ".join(f"{v:,} {k}" for k, v in counts.items()) + ".")
    if "migrate_seconds" in meta:
        print(f"Migration 5 (counting the report tallies from the records) took {meta['migrate_seconds']:.0f} s; "
              f"capstone data added: {', '.join(f'{v:,} {k}' for k, v in meta['capstone'].items())}.")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Machine: {rb.machine(len(cpus))}; load average at the end {load}.")
    print(f"One client, requests one after another ({args.requests} per measure); "
          f"server on CPU {sorted(server_cpus or [])}.\n")
    print("| Measure | p50 ms | p95 ms | max ms | server CPU ms per request | Target | Result |")
    print("|---|---|---|---|---|---|---|")
    for (name, values, target), cpu_ms in zip(measures, CPU_MS, strict=True):
        p95 = percentile(values, 0.95)
        result = "info" if target is None else ("pass" if p95 < target else "**fail**")
        rows.append((name, f"{statistics.median(values):.1f}", f"{p95:.1f}", result))
        print(f"| {name} | {statistics.median(values):.1f} | {p95:.1f} | {max(values):.1f} | {cpu_ms:.1f} | "
              f"{f'p95 < {target:.0f} ms' if target else '—'} | {result} |")
    peak = after.get("VmHWM", 0.0)
    print(f"| CSV export of every learner ({lines - 1:,} rows, {size / 1e6:.0f} MB) | {export_seconds * 1000:.0f} "
          f"(whole export) | — | — | — | streams; server peak RSS < {RSS_TARGET_MB:.0f} MB | "
          f"{'pass' if peak < RSS_TARGET_MB else '**fail**'}: peak {peak:.0f} MB (before the export "
          f"{before.get('VmHWM', 0.0):.0f} MB) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
