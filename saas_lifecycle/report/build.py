"""`lifecycle report`: write the HTML report from the published marts, and the end of
`lifecycle run`, which writes it after a successful publish and says where everything is."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from saas_lifecycle import settings
from saas_lifecycle.publish import Warehouse
from saas_lifecycle.report.marts import MartsMissingError
from saas_lifecycle.runner import one_line, resolve_database, say

REPORT_FOLDER = "report"
REPORT_NAME = "lifecycle_report.html"
# dbt docs pages in the target folder, preferred first: `dbt docs generate --static` writes
# one file that opens from disk; index.html needs manifest.json and catalog.json beside it.
DBT_DOCS_PAGES = ("static_index.html", "index.html")


class ReportError(Exception):
    """The report cannot be written; the message is the one-line reason."""


@dataclass(frozen=True)
class ReportResult:
    """What was written and what it links to."""

    path: Path
    charts: int
    data_docs: Path | None
    dbt_docs: Path | None


def default_report_path(database: Path) -> Path:
    """`<database folder>/report/lifecycle_report.html`."""
    return database.parent / REPORT_FOLDER / REPORT_NAME


def default_dbt_docs() -> Path | None:
    """The dbt docs page in dbt's target folder ($DBT_TARGET_PATH, else <repo>/target), if
    `dbt docs generate` has written one."""
    target = Path(os.environ.get("DBT_TARGET_PATH") or settings.REPO_ROOT / "target")
    if not target.is_absolute():
        target = settings.REPO_ROOT / target
    return next((target / page for page in DBT_DOCS_PAGES if (target / page).is_file()), None)


def data_docs_index(database: Path) -> Path | None:
    """The Great Expectations Data Docs the runs write beside the database, if any."""
    index = Warehouse(database).data_docs / "index.html"
    return index if index.is_file() else None


def build_report(
    database: Path, out: Path | None = None, dbt_docs: Path | None = None
) -> ReportResult:
    """Read the published marts and write the report; raise ReportError when impossible."""
    from plotly.offline import get_plotlyjs

    from saas_lifecycle.report.charts import build_charts
    from saas_lifecycle.report.marts import load_marts
    from saas_lifecycle.report.page import DocLinks, render_page

    database = database.resolve()
    page = (out or default_report_path(database)).resolve()
    if dbt_docs is not None and not dbt_docs.is_file():
        raise ReportError(f"no dbt docs page at {dbt_docs}")
    links = DocLinks(
        data_docs=data_docs_index(database),
        dbt_docs=dbt_docs.resolve() if dbt_docs is not None else default_dbt_docs(),
    )
    try:
        snapshot = load_marts(database)
    except MartsMissingError as exc:
        raise ReportError(str(exc)) from None
    charts = build_charts(snapshot)
    text = render_page(snapshot, charts, links, datetime.now(UTC), page, get_plotlyjs())
    page.parent.mkdir(parents=True, exist_ok=True)
    # Write beside and rename: a reader never opens a half-written report.
    partial = page.with_name(page.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, page)
    return ReportResult(page, len(charts), links.data_docs, links.dbt_docs)


def report_command(database: Path | None, out: Path | None, dbt_docs: Path | None) -> int:
    """`lifecycle report`: write the report and print where it is; the exit code."""
    try:
        result = build_report(resolve_database(database), out, dbt_docs)
    except ReportError as exc:
        print(f"lifecycle report failed: {exc}", file=sys.stderr, flush=True)
        return 1
    say(f"report: {result.path} ({result.charts} charts)")
    return 0


def print_locations(database: Path, report: Path | None) -> None:
    """The closing lines of `lifecycle run`: where the report, the docs and the marts are."""
    data_docs, dbt_docs = data_docs_index(database), default_dbt_docs()
    rows = [
        ("report", str(report) if report else "not written"),
        ("data docs", str(data_docs) if data_docs else "not written"),
        ("dbt docs", str(dbt_docs) if dbt_docs else "not generated (see the README)"),
        ("marts", f"{database}, schema {settings.MARTS_SCHEMA}"),
    ]
    say()
    say("where to look:")
    for label, where in rows:
        say(f"  {label:<10} {where}")


def finish_run(database: Path, write_report: bool) -> None:
    """After a successful publish: write the report (a failure is a warning, since the marts
    are published), then print where everything is."""
    report = None
    if write_report and database.is_file():  # no file: a non-DuckDB target, nothing to read
        try:
            report = build_report(database).path
        except Exception as exc:  # any failure: the published marts stand either way
            say(f"WARNING: could not write the report: {one_line(str(exc))}")
    print_locations(database, report)
