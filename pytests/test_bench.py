"""`lifecycle bench` and its peer.

The peer (saas_lifecycle/bench_peer.py) must compute the same rows as the project for the
marts it covers, or the bench's full/peer ratio compares different work; it is checked
here on a small dataset in a reporting time zone with daylight saving and with an as-of
date, and the bench itself at a tiny size.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import duckdb
import pytest
from repo_process import run_in_repo

from saas_lifecycle import settings
from saas_lifecycle.bench import Step, StepSplit, received_partitions
from saas_lifecycle.bench_peer import PEER_MARTS, compare_marts, compute

DATASET = {"users": 150, "days": 60, "seed": 7}
# A zone with daylight saving moves local dates and weeks; the as-of date cuts off the
# last days, so the peer must apply it like the project.
PEER_VARS = {"reporting_timezone": "US/Pacific", "as_of_date": "2025-02-20"}


def test_peer_equals_the_projects_marts(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    generated = run_in_repo(
        [sys.executable, "-m", "saas_lifecycle.cli", "generate", "--out", str(raw),
         *(f"--{key}={value}" for key, value in DATASET.items())]
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr[-3000:]
    project = tmp_path / "project.duckdb"
    built = run_in_repo(
        [str(Path(sys.executable).with_name("dbt")), "build", "--resource-type", "seed",
         "--resource-type", "model", "--select",
         *(f"+{mart}" for mart in PEER_MARTS), "--vars", json.dumps(PEER_VARS),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        {
            settings.ENV_RAW_DIR: str(raw),
            settings.ENV_TARGET: settings.DEFAULT_TARGET,
            settings.ENV_STATE_DATABASE: str(project),
            settings.ENV_DUCKDB_TEMP_DIR: str(tmp_path / "spill"),
        },
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-4000:]
    peer = tmp_path / "peer.duckdb"
    compute(raw, peer, PEER_VARS)
    differences = compare_marts(project, peer)
    assert set(differences) == set(PEER_MARTS)
    for mart, (rows, only_project, only_peer) in differences.items():
        assert rows > 0, mart
        assert (only_project, only_peer) == (0, 0), mart
    # The comparison can fail: one changed row shows on both sides.
    with duckdb.connect(str(project)) as con:
        con.execute(
            "update marts.active_users_daily set wau = wau + 1"
            " where date = (select max(date) from marts.active_users_daily)"
        )
    assert compare_marts(project, peer)["active_users_daily"][1:] == (1, 1)


def test_step_split_reads_the_runs_timed_lines() -> None:
    lines = [
        (1.5, "raw schema ok in 0.5 s: /raw: tracks (3 files)"),
        (4.0, "raw validation: 30 expectations, 0 blocking failure(s), 0 warning(s)"),
        (6.0, "dbt build (staging) ..."),
        (6.5, "  [1/9] success model staging.stg_product__tracks (0.4 s)"),
        (16.0, "dbt build (staging) finished after 10.0 s (pass 9)"),
        (18.0, "staging validation: 20 expectations, 0 blocking failure(s), 0 warning(s)"),
        (18.1, "dbt build (marts) ..."),
        (38.1, "dbt build (marts) finished after 20.0 s (pass 30)"),
        (41.1, "marts validation: 20 expectations, 0 blocking failure(s), 0 warning(s)"),
        (42.1, "published: /warehouse/lifecycle.duckdb"),
    ]
    split = StepSplit.of(Step(seconds=45.0, peak_rss_bytes=0, output="", line_times=lines))
    assert split.process_start == pytest.approx(1.0)
    assert split.dbt == pytest.approx(30.0)
    assert split.suites == pytest.approx(2.5 + 2.0 + 3.0)
    assert split.prepare == pytest.approx(2.0)
    assert split.publish == pytest.approx(1.0)
    assert split.after == pytest.approx(2.9)


@pytest.mark.e2e
def test_bench_runs_at_a_tiny_size(tmp_path: Path) -> None:
    """The benchmark measures every step, checks the peer and writes its report (no time
    asserted: the machines are shared)."""
    out = tmp_path / "BENCHMARKS.md"
    done = run_in_repo(
        [sys.executable, "-m", "saas_lifecycle.cli", "bench", "--sizes", "20k", "--days", "20",
         "--work-dir", str(tmp_path / "bench"), "--out", str(out), "--keep",
         # A tiny dataset has far more than 1% bad rows (one of every kind at least).
         "--vars", "{quarantine_max_share: 1}"]
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = out.read_text()
    lines = report.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("| size | events |")))
    cells = [cell.strip() for cell in lines[header + 2].strip("|").split("|")]
    assert cells[0] == "20k"
    full, incremental, peer = (float(cells[i]) for i in (4, 5, 7))
    assert full > 0 and incremental > 0 and peer > 0
    assert cells[6] == f"{100 * incremental / full:.0f} %"
    assert cells[9] == "yes"  # the peer's rows equal the project's
    assert all(float(gib) > 0 for gib in cells[11].split(" / "))
    split = next(line for line in lines if line.startswith("| 20k | incremental |"))
    assert all(float(cell) >= 0 for cell in split.strip("|").split("|")[2:])
    for section in ("## Where the time of a guarded run goes", "## Targets (issue 12)",
                    "## Memory by phase"):  # fmt: skip
        assert section in report
    assert re.search(r"^- `\w+` \d+\.\d s$", report, re.MULTILINE)  # the slowest models
    # The second run was incremental: it loaded the appended day into the published tables.
    incremental_log = (tmp_path / "bench" / "20k" / "incremental.log").read_text()
    assert "full refresh of the incremental models" not in incremental_log
    assert "published:" in incremental_log
    last_day = received_partitions(tmp_path / "bench" / "20k" / "raw_all")[-1].name.split("=")[1]
    assert loaded_through(tmp_path / "bench" / "20k" / "warehouse") == last_day


def loaded_through(warehouse: Path) -> str:
    """The latest received date in the build state (whichever DuckDB file holds staging)."""
    for database in sorted(warehouse.rglob("*.duckdb")):
        with duckdb.connect(str(database), read_only=True) as con:
            held = con.execute(
                "select count(*) from information_schema.tables where table_schema = 'staging'"
                " and table_name = 'stg_product__tracks' and table_catalog = current_database()"
            ).fetchone()[0]
            if held:
                latest = "select max(received_date) from staging.stg_product__tracks"
                return str(con.execute(latest).fetchone()[0])
    raise AssertionError(f"no build state with staging.stg_product__tracks under {warehouse}")
