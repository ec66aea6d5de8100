"""Vars validated by name, type and range, and the other usage checks of `lifecycle run`."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from saas_lifecycle import cli, preflight, run_vars


@pytest.mark.parametrize(
    ("user_vars", "expected"),
    [
        (
            {"reporting_timezon": "UTC"},
            "unknown var reporting_timezon; did you mean reporting_timezone?",
        ),
        ({"activation_window_dayz": 7}, "did you mean activation_window_days?"),
        ({"incremental_lookback_days": -10}, "var incremental_lookback_days must be between 0"),
        ({"incremental_lookback_days": 10_000_000_000}, "var incremental_lookback_days must be"),
        ({"mau_window_days": "30"}, "var mau_window_days must be an integer, got string"),
        ({"mau_window_days": True}, "var mau_window_days must be an integer, got boolean"),
        ({"quarantine_max_share": 1.5}, "var quarantine_max_share must be between 0 and 1"),
        ({"quarantine_max_share": float("nan")}, "must be a finite number"),
        ({"activation_events": "profile_completed"}, "must be a list, got string"),
        ({"activation_events": ["x'; drop table y; --"]}, "letters, digits and underscores"),
        ({"as_of_date": "2025-02-30"}, "must be a date (YYYY-MM-DD) or null"),
        ({"raw_location": "s3"}, "var raw_location must be files or schema"),
        ({"health_neutral_min_score": 80}, "must not exceed health_healthy_min_score"),
        (
            {"quality_table_thresholds": {"ticket": {"quarantine_max_share": 0.05}}},
            "var quality_table_thresholds: unknown raw table 'ticket'",
        ),
        (
            {"quality_table_thresholds": {"support_tickets": {"quarantine_max_share": 2}}},
            "support_tickets.quarantine_max_share is a share in [0, 1], got 2",
        ),
    ],
)
def test_bad_vars_are_refused_by_name(user_vars: dict[str, Any], expected: str) -> None:
    with pytest.raises(run_vars.VarError) as raised:
        run_vars.validate_vars(user_vars)
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_good_vars_pass() -> None:
    run_vars.validate_vars(
        {
            "reporting_timezone": "US/Pacific",
            "as_of_date": date(2025, 3, 31),  # YAML reads an unquoted date as a date
            "incremental_lookback_days": 0,
            "quarantine_max_share": 1,  # an integer where a number is expected
            "activation_events": ["profile_completed"],
            "build_schema_suffix": "",
        }
    )


def test_known_names_come_from_dbt_project() -> None:
    known = run_vars.project_vars()
    assert known["incremental_lookback_days"] == 3
    assert set(run_vars.RANGES) <= set(known)  # no range rule for a var that does not exist


def test_suffix_is_refused_on_every_target() -> None:
    with pytest.raises(run_vars.VarError, match="not for the guarded run"):
        run_vars.check_suffix({"build_schema_suffix": "_x"})
    run_vars.check_suffix({"build_schema_suffix": ""})


@pytest.mark.parametrize("zone", ["UT' || 'C", "Mars/Olympus", "utc; select 1"])
def test_unknown_and_injection_looking_time_zones_are_refused(zone: str) -> None:
    with pytest.raises(run_vars.VarError, match="unknown time zone"):
        run_vars.check_timezone({"reporting_timezone": zone})


def test_engine_time_zones_pass() -> None:
    for zone in ("UTC", "Europe/Berlin", "US/Pacific"):
        run_vars.check_timezone({"reporting_timezone": zone})


def _tracks(raw: Path, received: list[str], unit: str = "us", tz: str | None = None) -> None:
    folder = raw / "tracks"
    folder.mkdir(parents=True)
    values = pa.array([date.fromisoformat(d) for d in received], pa.date32()).cast(
        pa.timestamp("s")
    )
    table = pa.table({"received_at": values.cast(pa.timestamp(unit, tz=tz))})
    pq.write_table(table, folder / "part-0.parquet")


@pytest.mark.parametrize(("unit", "tz"), [("us", None), ("ns", "UTC"), ("ms", None), ("s", "UTC")])
def test_received_range_from_footer_statistics(tmp_path: Path, unit: str, tz: str | None) -> None:
    _tracks(tmp_path, ["2025-01-03", "2025-02-10", "2025-01-01"], unit, tz)
    found = preflight.received_range(tmp_path)
    assert found == preflight.DataRange(date(2025, 1, 1), date(2025, 2, 10))


def test_as_of_outside_the_data_is_refused_with_the_range(tmp_path: Path) -> None:
    _tracks(tmp_path, ["2025-01-01", "2025-03-02"])
    with pytest.raises(preflight.UsageError) as raised:
        preflight.check_as_of(date(2099, 1, 1), tmp_path)
    assert "2025-01-01 to 2025-03-02" in str(raised.value)
    with pytest.raises(preflight.UsageError):
        preflight.check_as_of(date(2024, 12, 1), tmp_path)
    preflight.check_as_of(date(2025, 3, 2), tmp_path)
    preflight.check_as_of(date(2025, 3, 3), tmp_path)  # a day's slack for the time zone


def test_database_location_problems(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(preflight.UsageError, match="is a file, not a folder"):
        preflight.check_database_location(a_file / "sub" / "x.duckdb")
    preflight.check_database_location(tmp_path / "new" / "x.duckdb")  # created by the run


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "--target", "nope"], "unknown target 'nope': profiles.yml defines"),
        (["run", "--vars", "{reporting_timezon: UTC}"], "unknown var reporting_timezon"),
        (["run", "--vars", "{mau_window_days: '7'}"], "must be an integer"),
        (["run", "--vars", "{reporting_timezone: Mars/Olympus}"], "unknown time zone"),
        (["run", "--raw-dir", "/no/such/raw/dir"], "raw data directory does not exist"),
        (["run", "--vars", "{build_schema_suffix: _x}"], "not for the guarded run"),
        (["bench", "--vars", "{incremental_lookback_days: -10}"], "must be between 0 and 366"),
    ],
)
def test_usage_errors_are_one_line_before_any_work(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    expected: str,
) -> None:
    monkeypatch.setattr(cli.runner, "run", lambda **_: pytest.fail("the run started"))
    monkeypatch.setattr(cli.bench, "bench", lambda *_: pytest.fail("the bench started"))
    started = time.perf_counter()
    assert cli.main(argv) == 2
    assert time.perf_counter() - started < 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"lifecycle {argv[0]}: error: "), err
    assert expected in err
