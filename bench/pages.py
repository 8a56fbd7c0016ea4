"""Benchmark: page and API timings over `tracker demo --scale N` (not a test).

Loads the demo with N synthetic issues into the given database (unless --skip-load)
and refreshes the planner's statistics (ANALYZE: the demo adds rows after its own
ANALYZE, and a server with autovacuum off never catches up). Then, in this process,
it builds the app with `tracker.create_app` and drives it with Flask's test client:
signs in as the demo users (password demo1234), GETs each page K times after one
unmeasured warm-up, and prints per page the median wall time, the number of SQL
statements the request ran and the size of the answer.

    python bench/pages.py --scale 100000 --database-url sqlite:////tmp/bench.db
    python bench/pages.py --scale 100000 --skip-load --repeat 7 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench --json /tmp/head.json

Only `tracker.create_app` and HTTP are used, so the same file runs against older
checkouts of the tracker: a page that answers 404 there (a route, or a list filter
the page does not know) is printed as n/a. Statements are counted with a
before_cursor_execute listener on every Engine; the count is that of the measured
runs (a range when the runs differ). CSRF is off (WTF_CSRF_ENABLED=False) so that
signing in is one POST /login; the API is called with a bearer token from
POST /api/v1/auth/token. Times include the test client and template rendering,
not a network or a WSGI server. Run one benchmark at a time: the machine is small.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Optional

TRACKER = str(Path(sys.executable).parent / "tracker")
PASSWORD = "demo1234"

# Who is signed in for the pages (tracker/demo_data/users.json; syn-u001 heads a synthetic unit).
USERS = {
    "unit_head": "sthj.fz",
    "syn_head": "syn-u001",
    "supervisor": "duban",
    "leader": "lingdao",
}
DETAIL_CODE = "ZY16-ZB-09"  # a demo issue with a long history: reopened, late reports


@dataclass
class Page:
    """One measured GET: a label, who asks, the path; `honoured` must match the body, or the page is n/a."""

    label: str
    user: str
    path: str
    honoured: Optional[str] = None  # a regex the answer shows when the version knows the filter


def flag_page(flag: str) -> Page:
    """The list filtered on a yes/no figure; n/a where the list has no such checkbox (an older version)."""
    return Page(f"list ?{flag}=1", "supervisor", f"/issues/?{flag}=1",
                honoured=rf'name="{flag}" value="1"\s+checked')


PAGES = [
    Page("home (unit head)", "unit_head", "/"),
    Page("home (synthetic unit head)", "syn_head", "/"),
    Page("home (supervisor)", "supervisor", "/"),
    Page("home (leader)", "leader", "/"),
    Page("list", "supervisor", "/issues/"),
    Page("list ?state=open&light=red", "supervisor", "/issues/?state=open&light=red"),
    Page("list ?overdue=1", "supervisor", "/issues/?overdue=1"),
    flag_page("supervised"),
    flag_page("returned"),
    flag_page("late_report"),
    Page("list page 50", "supervisor", "/issues/?page=50"),
    Page("list (synthetic unit head)", "syn_head", "/issues/"),
    Page("stats", "supervisor", "/stats/"),
    Page("stats monthly", "supervisor", "/stats/monthly"),
    Page("stats scorecard", "supervisor", "/stats/scorecard"),
    Page("issue detail", "supervisor", "/issues/{detail}"),
    Page("notices", "unit_head", "/notices/"),
    Page("API GET /issues?per_page=100", "api", "/api/v1/issues?per_page=100"),
]


class StatementCounter:
    """Counts the SQL statements sent through any SQLAlchemy Engine while on."""

    def __init__(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        self.count = 0
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any, **kwargs: Any) -> None:
        self.count += 1


def load(opts: argparse.Namespace) -> float:
    """Run `tracker demo --scale N` as its own process, then ANALYZE; return the demo's wall seconds."""
    env = dict(os.environ, TRACKER_DATABASE_URL=opts.database_url)
    env.pop("TRACKER_SMTP_URL", None)
    env.setdefault("TRACKER_UPLOAD_DIR", tempfile.mkdtemp(prefix="bench-uploads-"))
    start = time.perf_counter()
    proc = subprocess.run([TRACKER, "demo", "--scale", str(opts.scale)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"demo --scale {opts.scale} failed:\n{proc.stderr.decode(errors='replace')[-2000:]}")
    print(f"demo --scale {opts.scale}: {wall:.1f} s", flush=True)
    analyze(opts.database_url)
    return wall


def analyze(database_url: str) -> None:
    """Refresh the planner's statistics of every table, as autovacuum would in time."""
    from sqlalchemy import create_engine, text

    start = time.perf_counter()
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    print(f"ANALYZE: {time.perf_counter() - start:.1f} s", flush=True)


def make_app(database_url: str) -> Any:
    """The tracker's app on this database, CSRF off, no mail, uploads in a temporary folder."""
    from tracker import create_app

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "bench-pages",
        "WTF_CSRF_ENABLED": False,
        "SMTP_URL": None,
        "UPLOAD_DIR": tempfile.mkdtemp(prefix="bench-uploads-"),
    })
    # 404s and refusals are logged as warnings: expected here (n/a pages), so kept quiet.
    logging.getLogger("tracker").setLevel(logging.ERROR)
    app.logger.setLevel(logging.ERROR)
    return app


def sign_in(app: Any, username: str) -> Any:
    """A test client with a signed-in session for this user."""
    client = app.test_client()
    resp = client.post("/login", data={"username": username, "password": PASSWORD})
    if resp.status_code != 302:
        sys.exit(f"sign-in as {username} failed: HTTP {resp.status_code}")
    return client


def api_token(app: Any, username: str) -> str:
    """A bearer token for this user."""
    resp = app.test_client().post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    if resp.status_code != 200:
        sys.exit(f"API token for {username} failed: HTTP {resp.status_code}")
    return resp.get_json()["token"]


def bearer_get(client: Any, path: str, token: str) -> Callable[[], Any]:
    """A GET of `path` with this bearer token."""
    return partial(client.get, path, headers={"Authorization": f"Bearer {token}"})


def detail_id(client: Any) -> str:
    """The id of DETAIL_CODE, read from the list page searched by code."""
    body = client.get(f"/issues/?q={DETAIL_CODE}").get_data(as_text=True)
    found = re.search(r'href="/issues/(\d+)"', body)
    if not found:
        sys.exit(f"issue {DETAIL_CODE} not found in the list")
    return found.group(1)


def measure(get: Callable[[], Any], counter: StatementCounter, repeat: int,
            honoured: Optional[str]) -> dict[str, Any]:
    """Warm up once, then time `repeat` GETs; n/a on 404 or an unknown filter."""
    resp = get()
    if resp.status_code == 404:
        return {"status": 404}
    if resp.status_code != 200:
        return {"status": resp.status_code}
    if honoured and not re.search(honoured, resp.get_data(as_text=True)):
        return {"status": "filter unknown"}
    times, counts = [], []
    size = len(resp.get_data())
    for _ in range(repeat):
        counter.count = 0
        start = time.perf_counter()
        resp = get()
        resp.get_data()
        times.append((time.perf_counter() - start) * 1000)
        counts.append(counter.count)
        if resp.status_code != 200:
            return {"status": resp.status_code}
    return {"status": 200, "ms": statistics.median(times), "times": times,
            "stmts_min": min(counts), "stmts_max": max(counts), "bytes": size}


def run(opts: argparse.Namespace) -> dict[str, Any]:
    """Measure every page; print the table as it goes and return the results."""
    app = make_app(opts.database_url)
    counter = StatementCounter()
    clients = {role: sign_in(app, name) for role, name in USERS.items()}
    token = api_token(app, USERS["supervisor"])
    api = app.test_client()
    detail = detail_id(clients["supervisor"])
    print(f"{'page':<32} {'median ms':>10} {'stmts':>7} {'KB':>7}", flush=True)
    results: dict[str, Any] = {}
    for page in PAGES:
        path = page.path.format(detail=detail)
        if page.user == "api":
            get = bearer_get(api, path, token)
        else:
            get = partial(clients[page.user].get, path)
        res = measure(get, counter, opts.repeat, page.honoured)
        res["path"] = path
        results[page.label] = res
        if res["status"] == 200:
            stmts = str(res["stmts_min"]) if res["stmts_min"] == res["stmts_max"] \
                else f"{res['stmts_min']}-{res['stmts_max']}"
            print(f"{page.label:<32} {res['ms']:>10.1f} {stmts:>7} {res['bytes'] / 1024:>7.0f}", flush=True)
        else:
            why = "" if res["status"] == 404 else f"  ({res['status']})"
            print(f"{page.label:<32} {'n/a':>10}{why}", flush=True)
    return results


def main() -> None:
    """Parse arguments, load, measure and report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=5, help="measured GETs per page (after one warm-up)")
    parser.add_argument("--skip-load", action="store_true", help="the database already holds the demo")
    parser.add_argument("--analyze", action="store_true", help="ANALYZE even with --skip-load")
    parser.add_argument("--json", help="also write the results to this file")
    opts = parser.parse_args()
    print(f"database {opts.database_url}, scale {opts.scale}, repeat {opts.repeat}", flush=True)
    load_seconds = None if opts.skip_load else load(opts)
    if opts.skip_load and opts.analyze:
        analyze(opts.database_url)
    results = run(opts)
    if opts.json:
        Path(opts.json).write_text(json.dumps({
            "database_url": opts.database_url, "scale": opts.scale, "repeat": opts.repeat,
            "load_seconds": load_seconds, "pages": results,
        }, indent=1))


if __name__ == "__main__":
    main()
