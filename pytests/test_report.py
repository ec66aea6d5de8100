"""`lifecycle report`: the readings on hand-made frames, the charts' titles and axes, and the
whole report built from a tiny generated dataset, checked offline in headless Chromium.

Chromium is Debian's `chromium` package, which scripts/install-apt-package.sh installs (called
by scripts/test.sh). Without it the browser tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_run_e2e import TINY, TINY_VARS, run_cli  # pytests/ is on sys.path

from saas_lifecycle import cli
from saas_lifecycle.generate import generate
from saas_lifecycle.report import charts, readings
from saas_lifecycle.report.build import build_report, default_report_path
from saas_lifecycle.report.marts import QUERIES, MartsSnapshot

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Any host name fails to resolve: the page must draw with no network at all.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    # Let the page's promises (Plotly.newPlot) settle before the DOM is dumped.
    "--virtual-time-budget=30000",
)
BROWSER_TIMEOUT_SECONDS = 120
CHART_KEYS = ["retention", "active_users", "lifecycle", "onboarding", "ttv"]
CHART_KEYS += ["conversion", "mrr", "revenue_kpis", "revenue_retention", "nps", "health"]
CHART_KEYS += ["at_risk_accounts", "aha"]
REVENUE_KPI_COLUMNS = (
    "month arr ending_mrr paying_accounts_end arpa quick_ratio net_revenue_retention is_complete"
)
REVENUE_RETENTION_COLUMNS = (
    "cohort_month months_since cohort_accounts cohort_starting_mrr mrr net_mrr_retention "
    "logo_retention is_complete"
)
AT_RISK_COLUMNS = (
    "account_id persona current_mrr health_score health_band churn_probability "
    "expected_mrr_loss top_drivers top_risk_reasons"
)


# ---------------------------------------------------------------------------- readings


def frame(rows: list[dict[str, object]], columns: str) -> pd.DataFrame:
    """A frame with the given columns (also when there are no rows)."""
    return pd.DataFrame(rows, columns=columns.split())


RETENTION_COLUMNS = (
    "cohort_start segment_type segment_value period_number cohort_size retained_users "
    "retention_rate is_complete"
)


def retention_row(segment: str, value: str, week: int, size: int, kept: int, done: bool = True):
    return {
        "cohort_start": date(2025, 1, 6),
        "segment_type": segment,
        "segment_value": value,
        "period_number": week,
        "cohort_size": size,
        "retained_users": kept,
        "retention_rate": kept / size,
        "is_complete": done,
    }


def test_retention_reading_names_best_and_worst_channel_at_week_4() -> None:
    rows = [
        retention_row("all", "all", 4, 100, 30),
        retention_row("channel", "referral", 4, 40, 20),
        retention_row("channel", "paid_search", 4, 50, 5),
        retention_row("channel", "partner", 4, 10, 5),
        # Week 5 is not over: it must not be the week quoted.
        retention_row("all", "all", 5, 100, 10, done=False),
    ]
    sentence = readings.retention(frame(rows, RETENTION_COLUMNS))
    assert sentence == (
        "Week-4 retention is highest for partner (50% of 10) and lowest for paid_search "
        "(10% of 50); 30% overall (100 users in 1 complete weekly cohort)."
    )


def test_retention_reading_skips_tiny_channels_and_falls_back_to_the_latest_week() -> None:
    rows = [
        retention_row("all", "all", 2, 60, 30),
        retention_row("channel", "referral", 2, 30, 18),
        retention_row("channel", "paid_search", 2, 29, 12),
        retention_row("channel", "other", 2, 1, 0),  # 0% of 1 says nothing
    ]
    sentence = readings.retention(frame(rows, RETENTION_COLUMNS))
    assert sentence.startswith("Week-2 retention is highest for referral (60% of 30) and lowest")
    assert "lowest for paid_search (41% of 29)" in sentence


def test_retention_reading_without_a_complete_week() -> None:
    rows = [retention_row("all", "all", 0, 5, 5), retention_row("all", "all", 1, 5, 2, False)]
    assert readings.retention(frame(rows, RETENTION_COLUMNS)).startswith(
        "No weekly cohort has a complete week 1 yet"
    )


def test_active_users_reading_compares_stickiness_with_the_28_days_before() -> None:
    dates = pd.date_range("2025-01-01", periods=60, freq="D")
    stickiness = [0.5] * 4 + [0.10] * 28 + [0.25] * 28
    rows = [
        {
            "date": d,
            "dau": 25,
            "wau": 60,
            "mau": 100,
            "stickiness": s,
            "mau_window_complete": i >= 4,
        }
        for i, (d, s) in enumerate(zip(dates, stickiness, strict=True))
    ]
    sentence = readings.active_users(frame(rows, "date dau wau mau stickiness mau_window_complete"))
    assert sentence == (
        "On 2025-03-01 DAU was 25, WAU 60 and MAU 100; stickiness (DAU/MAU) averaged 25% over "
        "the last 28 days, up 15 points on the 28 days before."
    )


LIFECYCLE_COLUMNS = (
    "period_start new_users returning_users resurrected_users dormant_users is_complete"
)


def test_lifecycle_reading_uses_the_last_complete_week_and_its_quick_ratio() -> None:
    rows = [
        {
            "period_start": date(2025, 3, 17),
            "new_users": 12,
            "returning_users": 40,
            "resurrected_users": 3,
            "dormant_users": 10,
            "is_complete": True,
        },
        {
            "period_start": date(2025, 3, 24),
            "new_users": 1,
            "returning_users": 5,
            "resurrected_users": 0,
            "dormant_users": 50,
            "is_complete": False,
        },
    ]
    assert readings.lifecycle(frame(rows, LIFECYCLE_COLUMNS)) == (
        "In the week of 2025-03-17: 12 new, 40 returning, 3 resurrected and 10 dormant users; "
        "quick ratio (new + resurrected) / dormant = 1.5, so the active base grew by 5."
    )


def texts_of(key: str) -> charts.Texts:
    return next(spec.texts for spec in charts.chart_specs(None) if spec.key == key)


def test_onboarding_reading_names_the_least_done_step_and_never_a_drop() -> None:
    """Steps count in any order: import (40%) is done by fewer than invite (44%) and the
    reading must not speak of a drop from one step to the next."""
    columns = "signup_week step_order step_name signups users_completed is_complete"
    steps = [("account_created", 100), ("tour", 90), ("import", 40), ("invite", 44)]
    rows = [
        {
            "signup_week": week,
            "step_order": order,
            "step_name": name,
            "signups": 50,
            "users_completed": done // 2,
            "is_complete": week < date(2025, 1, 20),
        }
        for week in (date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20))
        for order, (name, done) in enumerate(steps, start=1)
    ]
    assert readings.onboarding(frame(rows, columns)) == (
        "Of 100 sign-ups in complete cohorts, 100% did account_created; the least done step "
        "is import (40%; steps count in any order, so this is not a funnel)."
    )
    figure = charts.onboarding_funnel(frame(rows, columns), texts_of("onboarding"))
    assert figure is not None
    assert [trace.type for trace in figure.data] == ["bar"]  # no funnel shape to misread
    assert list(figure.data[0].x) == [1.0, 0.9, 0.4, 0.44]


def test_time_to_value_reading_compares_persona_medians() -> None:
    rows = [{"persona": "smb", "ttv_hours": h} for h in [2.0] * 10 + [4.0] * 5]
    rows += [{"persona": "enterprise", "ttv_hours": h} for h in [60.0] * 12]
    rows += [{"persona": "solo", "ttv_hours": 0.5}]  # one user: not compared
    rows += [{"persona": "smb", "ttv_hours": None}] * 4
    assert readings.time_to_value(frame(rows, "persona ttv_hours")) == (
        "Median time to value is shortest for smb (2.0 h, 15 users) and longest for "
        "enterprise (2.5 days, 12 users); 88% of all 32 users have reached first value."
    )


def test_conversion_reading_pools_complete_months_by_channel() -> None:
    columns = (
        "signup_month channel accounts_signed_up accounts_trialing accounts_converted is_complete"
    )
    rows = [
        (date(2025, 1, 1), "referral", 20, 15, 8, True),
        (date(2025, 2, 1), "referral", 10, 8, 4, True),
        (date(2025, 1, 1), "paid_search", 25, 20, 2, True),
        (date(2025, 3, 1), "paid_search", 40, 1, 0, False),  # still converting: left out
    ]
    sentence = readings.conversion(frame(rows, columns))
    assert sentence == (
        "Trial-to-paid conversion is highest for referral (40%, 12 of 30) and lowest for "
        "paid_search (8%, 2 of 25); 25% overall (14 of 55 accounts)."
    )


MRR_COLUMNS = (
    "month starting_mrr new_mrr expansion_mrr reactivation_mrr contraction_mrr churned_mrr "
    "ending_mrr net_revenue_retention is_complete"
)


def test_mrr_reading_describes_the_last_complete_month() -> None:
    rows = [
        (date(2025, 2, 1), 1000.0, 300.0, 50.0, 0.0, 20.0, 130.0, 1200.0, 0.9, True),
        (date(2025, 3, 1), 1200.0, 10.0, 0.0, 0.0, 0.0, 0.0, 1210.0, 1.0, False),
    ]
    mrr = frame(rows, MRR_COLUMNS)
    assert readings.mrr(mrr, "USD") == (
        "In February 2025 MRR went from USD 1,000 to USD 1,200 (+20%): +300 new, +50 "
        "expansion, -20 contraction, -130 churned; net revenue retention 90%."
    )


def test_nps_reading_headlines_the_last_complete_month_and_marks_the_running_one() -> None:
    columns = "month responses promoters passives detractors nps is_complete"
    rows = [
        (date(2025, 1, 1), 10, 5, 3, 2, 30.0, True),
        (date(2025, 2, 1), 20, 6, 6, 8, -10.0, True),
        (date(2025, 3, 1), 2, 0, 0, 2, -100.0, False),
    ]
    nps = frame(rows, columns)
    assert readings.nps(nps) == (
        "NPS in February 2025 is -10 from 20 responses (6 promoters, 8 detractors), down 40 "
        "points from January 2025; March 2025 so far (partial): -100 from 2 responses."
    )
    figure = charts.nps_trend(nps, texts_of("nps"))
    assert figure is not None
    labels = list(figure.data[1].text)
    assert labels == ["+30", "-10", "-100 (partial)"]


def test_nps_reading_without_a_complete_month_says_so() -> None:
    columns = "month responses promoters passives detractors nps is_complete"
    nps = frame([(date(2025, 3, 1), 2, 0, 0, 2, -100.0, False)], columns)
    assert readings.nps(nps) == (
        "NPS in March 2025 (not over yet) is -100 from 2 responses (0 promoters, 2 detractors)."
    )


def test_revenue_kpis_reading_quotes_the_last_complete_month() -> None:
    rows = [
        (date(2025, 1, 1), 2400.0, 200.0, 2, 100.0, None, None, True),
        (date(2025, 2, 1), 3000.0, 250.0, 2, 125.0, 2.0, 1.0, True),
        (date(2025, 3, 1), 3180.0, 265.0, 4, 66.25, 1.3, 0.8, False),
    ]
    assert readings.revenue_kpis(frame(rows, REVENUE_KPI_COLUMNS), "EUR") == (
        "ARR at the end of February 2025 is EUR 3,000 (+25% on the month before) from 2 "
        "paying accounts, ARPA EUR 125; quick ratio 2.0 (MRR added per unit lost; above 1 "
        "means growth outpaces losses)."
    )


def test_revenue_retention_reading_pools_complete_cohorts_at_month_3() -> None:
    rows = [
        (date(2025, 1, 1), 0, 2, 100.0, 100.0, 1.0, 1.0, True),
        (date(2025, 1, 1), 3, 2, 100.0, 120.0, 1.2, 0.5, True),
        (date(2025, 2, 1), 0, 2, 300.0, 300.0, 1.0, 1.0, True),
        (date(2025, 2, 1), 3, 2, 300.0, 240.0, 0.8, 1.0, True),
        (date(2025, 3, 1), 3, 4, 50.0, 0.0, 0.0, 0.0, False),  # running: left out
    ]
    assert readings.revenue_retention(frame(rows, REVENUE_RETENTION_COLUMNS)) == (
        "2 cohorts of paying accounts (4 accounts) keep 90% of their first-month MRR and 75% "
        "of their accounts 3 months later (expansion and reactivation included)."
    )


def test_at_risk_reading_and_table_list_the_largest_expected_losses() -> None:
    rows = [
        ("acc_2", "smb", 400.0, 35.0, "at_risk", 0.5, 200.0, "low share of users", None),
        ("acc_1", "solo", 100.0, None, "inactive", 0.25, 25.0, None, "low activity"),
    ]
    at_risk = frame(rows, AT_RISK_COLUMNS)
    assert readings.at_risk_accounts(at_risk, "USD") == (
        "The 2 paying accounts listed are expected to lose USD 225 of MRR next month; the "
        "largest expected loss is acc_2 (USD 400 MRR, 50% churn probability)."
    )
    figure = charts.at_risk_table(at_risk, texts_of("at_risk_accounts"))
    assert figure is not None
    cells = figure.data[0].cells.values
    assert list(cells[0]) == ["acc_2", "acc_1"]
    assert list(cells[3]) == ["35 (at risk)", "– (inactive)"]
    assert list(cells[6]) == ["low share of users", "low activity"]


def test_health_reading_counts_bands_and_the_most_frequent_signal() -> None:
    rows = [
        (90.0, "healthy", None),
        (80.0, "healthy", None),
        (50.0, "neutral", "1 help article view; 1 open ticket"),
        (20.0, "at_risk", "low activity (0 active days in last 14); 3 open tickets"),
    ]
    health = frame(
        rows,
        "health_score health_band risk_reasons",
    )
    assert readings.health(health) == (
        "Of 4 customers not churned, 50% are healthy, 25% neutral and 25% at risk; the most "
        "frequent risk signal is open tickets (2 users)."
    )


def test_aha_reading_prefers_events_done_by_enough_users() -> None:
    columns = (
        "event_name event_category users_did users_did_not retention_if_did retention_if_not lift"
    )
    rows = [
        ("rare_event", "core_feature", 2, 98, 1.0, 0.2, 5.0),  # too few users to trust
        ("invoice_sent", "value", 40, 60, 0.6, 0.2, 3.0),
        ("report_exported", "core_feature", 30, 70, 0.3, 0.3, 1.0),
    ]
    aha = frame(rows, columns)
    assert readings.aha(aha) == (
        "invoice_sent has the highest retention lift, 3.0×: 60% of the 40 users who did it in "
        "their first week were active on days 28–34, against 20% of those who did not "
        "(correlation, not proof)."
    )


# ---------------------------------------------------------------------------- charts


def snapshot_of(frames: dict[str, pd.DataFrame]) -> MartsSnapshot:
    return MartsSnapshot(
        database=Path("x.duckdb"),
        as_of_date=date(2025, 3, 31),
        reporting_timezone="UTC",
        currency="USD",
        row_counts={},
        frames=frames,
    )


def assert_titled(chart: charts.Chart) -> None:
    layout = chart.figure.layout
    assert chart.title, chart.key
    assert layout.xaxis.title.text and layout.yaxis.title.text, chart.key
    assert chart.reading.endswith("."), chart.key
    assert chart.about, chart.key


def test_every_chart_has_titles_and_a_reading_even_when_empty() -> None:
    frames = {
        "retention": frame([], RETENTION_COLUMNS),
        "active_users": frame([], "date dau wau mau stickiness mau_window_complete"),
        "lifecycle": frame([], LIFECYCLE_COLUMNS),
        "onboarding": frame(
            [], "signup_week step_order step_name signups users_completed is_complete"
        ),
        "ttv": frame([], "persona ttv_hours"),
        "conversion": frame(
            [],
            "signup_month channel accounts_signed_up accounts_trialing accounts_converted "
            "is_complete",
        ),
        "mrr": frame([], MRR_COLUMNS),
        "revenue_kpis": frame([], REVENUE_KPI_COLUMNS),
        "revenue_retention": frame([], REVENUE_RETENTION_COLUMNS),
        "nps": frame([], "month responses promoters passives detractors nps is_complete"),
        "health": frame([], "health_score health_band risk_reasons"),
        "at_risk_accounts": frame([], AT_RISK_COLUMNS),
        "aha": frame(
            [],
            "event_name event_category users_did users_did_not retention_if_did "
            "retention_if_not lift",
        ),
    }
    built = charts.build_charts(snapshot_of(frames))
    assert [chart.key for chart in built] == CHART_KEYS
    for chart in built:
        assert_titled(chart)
        assert not chart.figure.data, f"{chart.key} drew data from an empty frame"
        assert chart.figure.layout.annotations, f"{chart.key} has no note saying why it is empty"


# ---------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A tiny dataset run through `lifecycle run` (which writes the report): (database, stdout)."""
    work = tmp_path_factory.mktemp("report")
    generate(work / "raw", **TINY)
    database = work / "warehouse" / "lifecycle.duckdb"
    done = run_cli(
        ["run", "--raw-dir", str(work / "raw"), "--database", str(database), *TINY_VARS], work
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return database, done.stdout


def browser() -> Path:
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh must install it in CI")
    pytest.skip(f"{CHROMIUM} is missing: run scripts/test.sh as root (or with sudo) once")


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on a local page with a fresh profile and no network."""
    return subprocess.run(
        [str(browser()), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT_SECONDS,
        check=False,
    )


def render_status(page: Path, profile: Path) -> dict[str, str]:
    """The attributes of #render-status after the page has drawn, from the dumped DOM."""
    done = chromium(page, profile, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    tag = re.search(r'<div id="render-status"[^>]*>', done.stdout)
    assert tag, "the page has no #render-status element"
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(0)))


def assert_every_chart_drew(page: Path, profile: Path) -> None:
    status = render_status(page, profile)
    assert status["data-done"] == "true", "the page never finished drawing"
    assert status["data-expected"].split() == CHART_KEYS
    assert status["data-drawn"].split() == CHART_KEYS


class ExternalReferences(HTMLParser):
    """Collects every attribute that would make the browser fetch something."""

    FETCHING = {("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src")}

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[str] = []
        self.links: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if (tag, name) in self.FETCHING and value:
                self.fetched.append(value)
            if tag == "a" and name == "href" and value:
                self.links.append(value)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


@pytest.mark.e2e
def test_run_writes_the_report_and_says_where_everything_is(published: tuple[Path, str]) -> None:
    database, stdout = published
    report = default_report_path(database)
    assert report.is_file()
    tail = stdout[stdout.index("where to look:") :]
    assert f"report     {report}" in tail
    assert f"data docs  {database.parent / 'data_docs' / 'index.html'}" in tail
    assert f"marts      {database}, schema marts" in tail


@pytest.mark.e2e
def test_report_is_self_contained_and_every_chart_draws_offline(
    published: tuple[Path, str], tmp_path: Path
) -> None:
    database, _ = published
    out = tmp_path / "elsewhere" / "report.html"
    dbt_docs = tmp_path / "target" / "static_index.html"
    dbt_docs.parent.mkdir()
    dbt_docs.write_text("<html></html>")
    args = ["--database", str(database), "--out", str(out), "--dbt-docs", str(dbt_docs)]
    done = run_cli(["report", *args], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == f"report: {out} ({len(CHART_KEYS)} charts)"

    text = out.read_text(encoding="utf-8")
    refs = ExternalReferences()
    refs.feed(text)
    assert refs.fetched == [], "the report fetches files; it must be self-contained"
    assert not any("url(" in style or "@import" in style for style in refs.styles)
    assert "Plotly.newPlot" in text and "plotly.js" in text.lower()  # plotly.js is inline
    # The Data Docs link is relative and lands on the run's Data Docs.
    docs = [href for href in refs.links if href.endswith("data_docs/index.html")]
    assert len(docs) == 1 and not docs[0].startswith(("/", "http", "file:"))
    assert (out.parent / docs[0]).resolve() == database.parent / "data_docs" / "index.html"
    assert "../target/static_index.html" in refs.links  # the dbt docs, relative too
    with duckdb.connect(str(database), read_only=True) as con:
        as_of = con.execute("select max(date) from marts.active_users_daily").fetchone()[0]
    assert f"As of <b>{as_of.isoformat()}</b>" in text

    assert_every_chart_drew(out, tmp_path / "profile")


@pytest.mark.e2e
def test_report_on_empty_marts_draws_every_chart_with_its_reason(
    published: tuple[Path, str], tmp_path: Path
) -> None:
    database, _ = published
    empty = tmp_path / "empty.duckdb"
    shutil.copyfile(database, empty)
    with duckdb.connect(str(empty)) as con:
        for mart, _ in QUERIES.values():
            con.execute(f"delete from marts.{mart}")
    result = build_report(empty, tmp_path / "empty.html")
    text = result.path.read_text(encoding="utf-8")
    for reason in ("mrr_movements_monthly is empty", "nps_monthly is empty", "No sign-ups yet"):
        assert reason in text
    assert_every_chart_drew(result.path, tmp_path / "profile")


@pytest.mark.e2e
def test_failed_run_leaves_the_last_report(published: tuple[Path, str], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    database, _ = published
    warehouse = tmp_path / "warehouse"
    shutil.copytree(database.parent, warehouse)
    report = default_report_path(warehouse / database.name)
    before = report.read_bytes()
    raw = tmp_path / "raw"
    shutil.copytree(database.parents[1] / "raw", raw)
    users = sorted((raw / "users").glob("**/*.parquet"))
    pq.write_table(pq.read_table(users[0]).drop_columns(["account_id"]), users[0])

    assert (
        cli.main(["run", "--raw-dir", str(raw), "--database", str(warehouse / database.name)]) == 1
    )
    assert report.read_bytes() == before  # still the report of the last published marts


def test_report_without_published_marts_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["report", "--database", str(tmp_path / "none.duckdb")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"lifecycle report failed: no published database at {tmp_path / 'none.duckdb'}: "
        "run `lifecycle run` first"
    ]
