"""The `lifecycle` command line: parsing, usage errors and the generate subcommand."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from saas_lifecycle import cli, runner, settings
from saas_lifecycle.schema_check import SchemaReport


@pytest.fixture
def run_calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """Replace runner.run by a recorder of its keyword arguments; the working directory is
    an empty tmp dir holding a `raw` folder, and the default raw dir is `default_raw`."""
    calls: list[dict[str, Any]] = []

    def fake_run(**kwargs: Any) -> int:
        calls.append(kwargs)
        return 0

    monkeypatch.chdir(tmp_path)
    (tmp_path / "raw").mkdir()
    monkeypatch.delenv(settings.ENV_RAW_DIR, raising=False)
    monkeypatch.setattr(settings, "DEFAULT_RAW_DIR", tmp_path / "default_raw")
    monkeypatch.setattr(runner, "generate_raw", lambda out: (out / "tracks").mkdir(parents=True))
    monkeypatch.setattr(runner, "run", fake_run)
    return calls


def usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run main, assert exit code 2 and a single stderr line; return that line."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.strip()


def test_run_arguments_are_passed_through(run_calls: list[dict[str, Any]]) -> None:
    argv = [
        "run",
        "--raw-dir",
        "raw",
        "--database",
        "x.duckdb",
        "--as-of",
        "2025-03-31",
        "--vars",
        "{reporting_timezone: US/Pacific}",
        "--target",
        "duckdb",
        "--full-refresh",
        "--no-report",
    ]
    assert cli.main(argv) == 0
    assert run_calls == [
        {
            "raw_dir": Path("raw").resolve(),
            "database": Path("x.duckdb"),
            "as_of": date(2025, 3, 31),
            "user_vars": {"reporting_timezone": "US/Pacific"},
            "target": "duckdb",
            "full_refresh": True,
            "report": False,
        }
    ]


def test_run_defaults(run_calls: list[dict[str, Any]]) -> None:
    assert cli.main(["run"]) == 0
    assert run_calls[0] == {
        "raw_dir": settings.DEFAULT_RAW_DIR,  # resolved (demo data generated) before the run
        "database": None,
        "as_of": None,
        "user_vars": None,
        "target": None,
        "full_refresh": False,
        "report": True,
    }


@pytest.mark.parametrize("value", ["2025-02-30", "31/03/2025", "2025-3-1", "soon"])
def test_bad_as_of_is_one_line_usage_error(
    capsys: pytest.CaptureFixture[str], run_calls: list[dict[str, Any]], value: str
) -> None:
    line = usage_error(capsys, ["run", "--as-of", value])
    assert "--as-of" in line and "YYYY-MM-DD" in line
    assert run_calls == []


@pytest.mark.parametrize("value", ["[1, 2]", "just text", "{a: [1"])
def test_vars_must_be_a_yaml_mapping(
    capsys: pytest.CaptureFixture[str], run_calls: list[dict[str, Any]], value: str
) -> None:
    line = usage_error(capsys, ["run", "--vars", value])
    assert line.startswith("lifecycle run: error: argument --vars:")
    assert run_calls == []


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["deploy"],
        ["run", "--bogus"],
        ["generate"],
        ["generate", "--out", "x", "--users", "0"],
        ["generate", "--out", "x", "--dirty-rate", "1.5"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert usage_error(capsys, argv).startswith("lifecycle")


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--raw-dir" in text
    for step in ("quality gates", "publishe", "report", "validation history"):
        assert step in text, step


def test_top_help_describes_the_tool_not_the_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "marts" in text and "runner.py" not in text and "argument parsing" not in text


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"lifecycle {cli.version()}"
    assert cli.version()[0].isdigit()


def test_vars_merge_order() -> None:
    report = SchemaReport(raw_dir=Path("raw"), absent_optional=["billing_events"])
    user_vars = {"as_of_date": "2024-01-01", "absent_raw_tables": [], "mau_window_days": 28}
    merged = runner.dbt_vars(user_vars, date(2025, 3, 31), report)
    assert merged == {
        "as_of_date": "2025-03-31",
        "absent_raw_tables": ["billing_events"],
        "mau_window_days": 28,
    }
    assert runner.dbt_vars(None, None, report) == {"absent_raw_tables": ["billing_events"]}


def test_raw_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_RAW_DIR, str(tmp_path / "from_env"))
    assert runner.resolve_raw_dir(tmp_path / "given") == tmp_path / "given"
    assert runner.resolve_raw_dir(None) == tmp_path / "from_env"


def test_demo_data_is_generated_only_when_default_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    default = tmp_path / "data" / "raw"
    generated: list[Path] = []
    monkeypatch.delenv(settings.ENV_RAW_DIR, raising=False)
    monkeypatch.setattr(settings, "DEFAULT_RAW_DIR", default)
    monkeypatch.setattr(runner, "generate_raw", lambda out: generated.append(out))
    assert runner.resolve_raw_dir(None) == default
    assert generated == [default]
    assert "generating the demo dataset" in capsys.readouterr().out
    (default / "tracks").mkdir(parents=True)
    assert runner.resolve_raw_dir(None) == default
    assert generated == [default]


def test_generate_writes_raw_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "raw"
    argv = ["generate", "--out", str(out), "--users", "30", "--days", "20", "--seed", "3"]
    assert cli.main(argv) == 0
    for table in ("tracks", "users", "accounts"):
        assert list((out / table).glob("**/*.parquet")), table
    printed = capsys.readouterr().out
    assert "tracks" in printed and "events/second" in printed
    assert "writing tracks ..." in printed  # progress before the summary


def test_generate_progress_on_long_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from saas_lifecycle import generate

    monkeypatch.setattr(generate, "PROGRESS_SECONDS", 0.0)  # every window counts as long
    argv = ["generate", "--out", str(tmp_path / "raw"), "--users", "400", "--days", "40"]
    assert cli.main(argv) == 0
    assert "events written so far" in capsys.readouterr().out


def test_demo_salt_warns_once_on_data_that_is_not_generated(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    run_calls: list[dict[str, Any]],
) -> None:
    import shutil

    from saas_lifecycle import preflight
    from saas_lifecycle.generate import generate

    raw = tmp_path / "generated"
    generate(raw, users=20, days=5, seed=1)
    monkeypatch.delenv(settings.ENV_EMAIL_SALT, raising=False)
    assert preflight.is_generated(raw)
    assert cli.main(["run", "--raw-dir", str(raw)]) == 0
    assert "salt" not in capsys.readouterr().err

    extra = raw / "users" / "mine.parquet"  # real rows added: no longer the generator's data
    shutil.copyfile(raw / "users" / "part-0.parquet", extra)
    assert not preflight.is_generated(raw)
    assert cli.main(["run", "--raw-dir", str(raw)]) == 0
    err = capsys.readouterr().err
    assert err.count("WARNING") == 1 and "LIFECYCLE_EMAIL_SALT" in err and "demo salt" in err

    monkeypatch.setenv(settings.ENV_EMAIL_SALT, "a-real-secret")
    assert cli.main(["run", "--raw-dir", str(raw)]) == 0
    assert "salt" not in capsys.readouterr().err
    extra.unlink()
    (raw / "_manifest.json").unlink()  # real data has no manifest
    monkeypatch.setenv(settings.ENV_EMAIL_SALT, settings.DEMO_EMAIL_SALT)  # set, but the demo
    assert cli.main(["run", "--raw-dir", str(raw)]) == 0
    assert "demo salt" in capsys.readouterr().err


def test_unexpected_errors_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], run_calls: list[Any]
) -> None:
    import errno

    def full_disk(**_: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", "/w/x.building.duckdb")

    monkeypatch.setattr(runner, "run", full_disk)
    monkeypatch.setenv("LIFECYCLE_EMAIL_SALT", "a-real-secret")
    assert cli.main(["run", "--raw-dir", "raw"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("lifecycle run failed: disk full while writing /w/x.building.duckdb")
    monkeypatch.setenv(cli.ENV_TRACEBACK, "1")
    with pytest.raises(OSError):
        cli.main(["run", "--raw-dir", "raw"])


def test_an_error_after_a_signal_is_the_interrupt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], run_calls: list[Any]
) -> None:
    """dbt may turn the signal's exception into an error of its own (cancelling a busy
    DuckDB connection): the run still reports the interrupt, with the signal's exit code."""
    import signal

    from saas_lifecycle import failures

    def terminated_in_dbt(**_: Any) -> int:
        failures._interrupts.signum = signal.SIGTERM  # as the handler records it
        raise RuntimeError("dbt build (staging): connection is busy with another call")

    monkeypatch.setattr(runner, "run", terminated_in_dbt)
    monkeypatch.setenv("LIFECYCLE_EMAIL_SALT", "a-real-secret")
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert cli.main(["run", "--raw-dir", "raw"]) == failures.EXIT_SIGTERM
    finally:  # a command ended by a signal keeps its handler; this process goes on
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    err = capsys.readouterr().err
    assert (
        err
        == "lifecycle run interrupted (SIGTERM): nothing was published; the next run starts over\n"
    )
