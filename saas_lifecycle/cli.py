"""The `lifecycle` command line: argument parsing and usage checks; the work is in runner.py.

A run's usage mistakes (unknown target, var or time zone, missing raw dir) are found here,
before any work, and end in one line; every other failure ends in `lifecycle run failed:
<reason>` or `lifecycle run interrupted` (failures.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

from saas_lifecycle import bench, failures, preflight, run_vars, runner, settings

DESCRIPTION = (
    "Turn raw SaaS data (Parquet) into user-lifecycle and customer-success marts with dbt,"
    " behind quality gates, and publish them only when every gate passes."
)
# Set to 1 to get the Python traceback of an unexpected failure instead of its one line.
ENV_TRACEBACK = "LIFECYCLE_TRACEBACK"
RUN_HELP = "check the raw data, build the marts with dbt, publish them if the quality gates pass"
RUN_DESCRIPTION = (
    "Check the raw Parquet files against the contract, then build with dbt in two layers"
    " (staging, then marts) into the run's build state (<database>.state.duckdb, built in"
    " place). After the raw data and each layer, Great Expectations quality gates run. A"
    " blocking failure holds back the marts that read the failing input (they keep their"
    " served version) and the run exits 1; when it reaches every mart, nothing is published."
    " Publishing writes a fresh served database (marts and monitoring only) and the marts as"
    " Parquet folders, each switched in atomically; the results are recorded in the"
    " validation history and Data Docs, and the HTML report is written. Vars, the target,"
    " the time zone and the raw dir are checked before any of that starts."
)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        """Print `lifecycle <cmd>: error: <message>` and exit 2."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _argtype(parse: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    """Turn a parser raising ValueError into an argparse type with a readable message."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


def _bounded(kind: type, low: float, high: float | None = None) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"not a {kind.__name__}: {text!r}") from None
        if value < low or (high is not None and value > high):
            upper = f" and {high}" if high is not None else ""
            raise ValueError(f"must be {'between' if upper else 'at least'} {low}{upper}: {text}")
        return value

    return _argtype(parse, kind.__name__)


_date = _argtype(runner.parse_date, "date")
_vars = _argtype(runner.parse_vars, "vars")
_sizes = _argtype(lambda text: [bench.parse_size(part) for part in text.split(",")], "sizes")


def build_parser() -> argparse.ArgumentParser:
    """The `lifecycle` parser with its `generate`, `run` and `report` subcommands."""
    parser = _Parser(prog="lifecycle", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"lifecycle {version()}")
    commands = parser.add_subparsers(
        dest="command", metavar="{generate,run,report,bench}", required=True, parser_class=_Parser
    )

    gen = commands.add_parser(
        "generate",
        help="write a synthetic raw dataset (Parquet) with a share of deliberately bad rows",
    )
    gen.add_argument("--out", type=Path, required=True, help="output raw directory")
    gen.add_argument("--users", type=_bounded(int, 1), default=2000, help="users (2000)")
    gen.add_argument("--days", type=_bounded(int, 1), default=180, help="days (180)")
    gen.add_argument("--start", type=_date, default=date(2025, 1, 1), help="first day (2025-01-01)")
    gen.add_argument("--seed", type=int, default=42, help="random seed (42)")
    gen.add_argument(
        "--dirty-rate",
        type=_bounded(float, 0.0, 1.0),
        default=0.005,
        help="share of rows that break the contract (0.005)",
    )

    run = commands.add_parser("run", help=RUN_HELP, description=RUN_DESCRIPTION)
    run.add_argument(
        "--raw-dir", type=Path, help="raw Parquet directory ($RAW_DATA_DIR, else data/raw)"
    )
    run.add_argument(
        "--database",
        type=Path,
        help="DuckDB file ($LIFECYCLE_DUCKDB_PATH, else warehouse/lifecycle.duckdb)",
    )
    run.add_argument("--as-of", type=_date, help="as_of_date var, YYYY-MM-DD")
    run.add_argument(
        "--vars",
        type=_vars,
        help="dbt vars as a YAML mapping, e.g. '{reporting_timezone: Europe/Berlin}'"
        " (README, section Vars)",
    )
    run.add_argument("--target", help="dbt target ($LIFECYCLE_TARGET, else duckdb)")
    run.add_argument("--full-refresh", action="store_true", help="rebuild incremental models")
    run.add_argument(
        "--no-report", action="store_true", help="do not write the HTML report after publishing"
    )

    ben = commands.add_parser(
        "bench", help="time generation, full and incremental builds against the floor query"
    )
    ben.add_argument(
        "--sizes",
        type=_sizes,
        default=[bench.parse_size(s) for s in bench.DEFAULT_SIZES],
        help="events per dataset, comma-separated (1M,10M,100M)",
    )
    ben.add_argument(
        "--days", type=_bounded(int, 2), default=bench.DEFAULT_DAYS, help="days per dataset (365)"
    )
    ben.add_argument(
        "--work-dir",
        type=Path,
        default=settings.REPO_ROOT / "warehouse" / "bench",
        help="where datasets and databases go (warehouse/bench)",
    )
    ben.add_argument(
        "--out",
        type=Path,
        default=settings.REPO_ROOT / "docs" / "BENCHMARKS.md",
        help="Markdown report (docs/BENCHMARKS.md)",
    )
    ben.add_argument("--seed", type=int, default=42, help="random seed (42)")
    ben.add_argument("--keep", action="store_true", help="keep each size's data and databases")
    ben.add_argument("--vars", type=_vars, help="dbt vars for the runs, as for `lifecycle run`")

    rep = commands.add_parser("report", help="write the HTML report from the published marts")
    rep.add_argument(
        "--database",
        type=Path,
        help="published DuckDB file ($LIFECYCLE_DUCKDB_PATH, else warehouse/lifecycle.duckdb)",
    )
    rep.add_argument(
        "--out", type=Path, help="HTML file (<database folder>/report/lifecycle_report.html)"
    )
    rep.add_argument(
        "--dbt-docs",
        type=Path,
        help="dbt docs page to link (target/static_index.html or index.html when present)",
    )
    return parser


def version() -> str:
    """The installed package's version."""
    try:
        return metadata.version("saas-lifecycle")
    except metadata.PackageNotFoundError:
        return "unknown"


def _usage_error(command: str, message: str) -> int:
    print(f"lifecycle {command}: error: {message}", file=sys.stderr, flush=True)
    return 2


def _run(args: argparse.Namespace) -> int:
    """`lifecycle run`: usage checks, then the guarded job with failures as one line."""
    try:
        preflight.check_run(args.raw_dir, args.database, args.vars, args.target)
    except (preflight.UsageError, run_vars.VarError) as exc:
        return _usage_error("run", str(exc))
    with failures.signals_raise():
        try:
            raw = runner.resolve_raw_dir(args.raw_dir)
            try:
                preflight.check_as_of(args.as_of, raw)
            except preflight.UsageError as exc:
                return _usage_error("run", str(exc))
            warning = preflight.demo_salt_warning(raw)
            if warning:
                print(f"WARNING: {warning}", file=sys.stderr, flush=True)
            return runner.run(
                raw_dir=raw,
                database=args.database,
                as_of=args.as_of,
                user_vars=args.vars,
                target=args.target,
                full_refresh=args.full_refresh,
                report=not args.no_report,
            )
        except KeyboardInterrupt as exc:
            return _interrupted(exc)
        except Exception as exc:
            if failures.received_signal():  # the signal's exception became another error
                return _interrupted(exc)
            if os.environ.get(ENV_TRACEBACK) == "1":
                raise
            print(f"lifecycle run failed: {failures.reason(exc)}", file=sys.stderr, flush=True)
            return 1


def _interrupted(exc: BaseException) -> int:
    """Print the one line of a run stopped by a signal; its exit code."""
    line, code = failures.interrupted_line(exc)
    print(line, file=sys.stderr, flush=True)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lifecycle` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # usage errors (2), --help and --version (0)
        return exc.code if isinstance(exc.code, int) else 2
    if args.command == "generate":
        runner.generate_raw(
            args.out,
            users=args.users,
            days=args.days,
            start=args.start,
            seed=args.seed,
            dirty_rate=args.dirty_rate,
            progress=runner.say,
        )
        return 0
    if args.command == "bench":
        try:
            run_vars.validate_vars(args.vars)
        except run_vars.VarError as exc:
            return _usage_error("bench", str(exc))
        bench.bench(args.sizes, args.days, args.work_dir, args.out, args.seed, args.keep, args.vars)
        return 0
    if args.command == "report":
        from saas_lifecycle.report.build import report_command  # plotly: only when asked

        return report_command(args.database, args.out, args.dbt_docs)
    return _run(args)


if __name__ == "__main__":
    raise SystemExit(main())
