"""The Great Expectations suites on tiny hand-made inputs: good data passes, each bad kind
fails the right expectation with the right severity, a readable observed value and sample
rows; history round-trips; Data Docs are written.

GX is imported once per session (~7 s); the raw tests share one generated dataset.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from saas_lifecycle.contract import OPTIONAL_TABLES, RAW_TABLES
from saas_lifecycle.quality import ExpectationOutcome, LayerValidation
from saas_lifecycle.quality.docs import build_data_docs
from saas_lifecycle.quality.history import previous_volumes, record_run
from saas_lifecycle.quality.suites import is_rate_column
from saas_lifecycle.quality.validate import format_report, validate_database, validate_raw

ALL_TABLES = list(RAW_TABLES)
MIDDLE_DAY = date(2025, 1, 15)


# ---------------------------------------------------------------------------- helpers


def outcome(validation: LayerValidation, name: str) -> ExpectationOutcome:
    found = [o for o in validation.outcomes if o.expectation == name]
    assert found, f"no expectation {name}: {[o.expectation for o in validation.outcomes]}"
    return found[0]


def blocking_names(validation: LayerValidation) -> list[str]:
    return [o.expectation for o in validation.blocking_failures]


def assert_blocks(validation: LayerValidation, name: str) -> ExpectationOutcome:
    """`name` is the only blocking failure, with an observed value and sample rows."""
    assert blocking_names(validation) == [name], format_report([validation])
    failed = outcome(validation, name)
    assert failed.severity == "error" and not failed.success
    assert failed.observed_value
    assert 1 <= len(failed.sample_failing_rows) <= 5
    return failed


def assert_warns(validation: LayerValidation, name: str) -> ExpectationOutcome:
    assert blocking_names(validation) == [], format_report([validation])
    warned = outcome(validation, name)
    assert warned.severity == "warn" and not warned.success, format_report([validation])
    return warned


def rewrite(raw: Path, table: str, change: Callable[[pa.Table, Path], pa.Table | None]) -> None:
    """Apply `change` to every Parquet file of a raw table (None deletes the file)."""
    for path in sorted((raw / table).glob("**/*.parquet")):
        changed = change(pq.ParquetFile(path).read(), path)
        if changed is None:
            path.unlink()
        else:
            pq.write_table(changed, path)


def replaced(table: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    index = table.schema.get_field_index(name)
    return table.set_column(index, table.schema.field(index), values)


def shifted(column: pa.ChunkedArray, delta: timedelta) -> pa.ChunkedArray:
    return pc.add(column, pa.scalar(delta, type=pa.duration(column.type.unit))).cast(column.type)


def on_day(column: pa.ChunkedArray, day: date) -> pa.ChunkedArray:
    naive = column.cast(pa.timestamp(column.type.unit))
    start = datetime(day.year, day.month, day.day)
    return pc.and_(
        pc.greater_equal(naive, pa.scalar(start, naive.type)),
        pc.less(naive, pa.scalar(start + timedelta(days=1), naive.type)),
    )


# ---------------------------------------------------------------------------- raw


@pytest.fixture(scope="module")
def good_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from saas_lifecycle.generate import generate

    raw = tmp_path_factory.mktemp("good") / "raw"
    generate(raw, users=60, days=30, seed=5, dirty_rate=0)
    return raw


@pytest.fixture
def raw(good_raw: Path, tmp_path: Path) -> Path:
    """A private copy of the good raw data, to break."""
    copy = tmp_path / "raw"
    shutil.copytree(good_raw, copy)
    return copy


def test_good_raw_passes_every_expectation(good_raw: Path) -> None:
    validation, volumes = validate_raw(good_raw, ALL_TABLES, {}, {})
    assert validation.layer == "raw"
    assert [o for o in validation.outcomes if not o.success] == [], format_report([validation])
    assert set(volumes) == set(ALL_TABLES) and all(n > 0 for n in volumes.values())
    names = {o.expectation for o in validation.outcomes}
    for expected in (
        "tracks.has_rows",
        "tracks.required_columns.null_share",
        "tracks.value_sets.outside_share",
        "tracks.event_id.duplicate_share",
        "tracks.daily_volume.gap",
        "tracks.delivery_latency.median",
        "tracks.volume_vs_previous_runs",
        "billing_events.value_sets.outside_share",
    ):
        assert expected in names
    severity = {o.expectation: o.severity for o in validation.outcomes}
    assert severity["tracks.daily_volume.gap"] == "error"
    assert severity["tracks.required_columns.null_share"] == "warn"
    assert severity["survey_responses.has_rows"] == "warn"  # optional table


def test_absent_optional_tables_have_no_expectations(good_raw: Path) -> None:
    validation, volumes = validate_raw(good_raw, ["tracks", "users", "accounts"], {}, {})
    assert not [o for o in validation.outcomes if o.expectation.split(".")[0] in OPTIONAL_TABLES]
    assert set(volumes) == {"tracks", "users", "accounts"}
    assert validation.blocking_failures == []


def test_empty_required_table_blocks(raw: Path) -> None:
    rewrite(raw, "users", lambda table, _: table.slice(0, 0))
    validation, volumes = validate_raw(raw, ALL_TABLES, {}, {})
    assert blocking_names(validation) == ["users.has_rows"], format_report([validation])
    assert outcome(validation, "users.has_rows").observed_value == "0 rows"
    assert volumes["users"] == 0


def test_required_table_not_present_blocks(good_raw: Path) -> None:
    validation, _ = validate_raw(good_raw, ["tracks", "accounts"], {}, {})
    assert blocking_names(validation) == ["users.has_rows"]


def test_missing_day_of_events_blocks(raw: Path) -> None:
    def drop_day(table: pa.Table, _: Path) -> pa.Table:
        keep = pc.invert(
            pc.or_(
                on_day(table["received_at"], MIDDLE_DAY), on_day(table["occurred_at"], MIDDLE_DAY)
            )
        )
        return table.filter(keep)

    rewrite(raw, "tracks", drop_day)
    # Under the default 100 events the days of this 60-user product are not judged; the
    # threshold is a var.
    assert outcome(validate_raw(raw, ALL_TABLES, {}, {})[0], "tracks.daily_volume.gap").success
    small = {"daily_volume_min_median_events": 50}
    failed = assert_blocks(validate_raw(raw, ALL_TABLES, {}, small)[0], "tracks.daily_volume.gap")
    assert failed.relation == "tracks" and failed.dates == (str(MIDDLE_DAY),)
    assert str(MIDDLE_DAY) in failed.observed_value
    assert failed.sample_failing_rows[0]["day"].startswith(str(MIDDLE_DAY))
    assert failed.sample_failing_rows[0]["events"] == 0


def test_late_arrivals_after_the_last_event_day_are_no_gap(raw: Path) -> None:
    """An export cut at a date still holds events received days later: a tail, not a gap."""

    def cut_after_middle_day(table: pa.Table, _: Path) -> pa.Table:
        end = pa.scalar(
            datetime.combine(MIDDLE_DAY, datetime.min.time(), tzinfo=UTC),
            type=table["occurred_at"].type,
        )
        return table.filter(pc.fill_null(pc.less(table["occurred_at"], end), False))

    rewrite(raw, "tracks", cut_after_middle_day)
    validation, _ = validate_raw(raw, ALL_TABLES, {}, {})
    assert outcome(validation, "tracks.daily_volume.gap").success, format_report([validation])


def test_duplicate_flood_blocks_and_the_threshold_is_a_var(raw: Path) -> None:
    def flood(table: pa.Table, _: Path) -> pa.Table:
        copies = [
            replaced(table, "received_at", shifted(table["received_at"], timedelta(minutes=k)))
            for k in range(1, 5)
        ]
        return pa.concat_tables([table, *copies])

    rewrite(raw, "tracks", flood)
    failed = assert_blocks(
        validate_raw(raw, ALL_TABLES, {}, {})[0], "tracks.event_id.duplicate_share"
    )
    assert "duplicate_share 0.8" in failed.observed_value and "> 0.2" in failed.observed_value
    assert failed.sample_failing_rows[0]["copies"] >= 5
    lenient = validate_raw(raw, ALL_TABLES, {}, {"max_duplicate_share": 0.9})[0]
    assert blocking_names(lenient) == []


@pytest.mark.parametrize("hours", [8, -8])
def test_timezone_shift_blocks(raw: Path, hours: int) -> None:
    rewrite(
        raw,
        "tracks",
        lambda t, _: replaced(t, "occurred_at", shifted(t["occurred_at"], timedelta(hours=hours))),
    )
    failed = assert_blocks(
        validate_raw(raw, ALL_TABLES, {}, {})[0], "tracks.delivery_latency.median"
    )
    assert f"{-hours:+.2f} h" in failed.observed_value, failed.observed_value
    assert "outside [-1 h, +6 h]" in failed.observed_value


def test_future_batch_only_warns_at_raw(raw: Path) -> None:
    """Rows from the future are the quarantine's (and the staging gate's) business."""
    partition = f"received_date={MIDDLE_DAY.isoformat()}"

    def to_future(table: pa.Table, path: Path) -> pa.Table:
        if path.parent.name != partition:
            return table
        return replaced(table, "occurred_at", shifted(table["received_at"], timedelta(days=3)))

    rewrite(raw, "tracks", to_future)
    warned = assert_warns(
        validate_raw(raw, ALL_TABLES, {}, {})[0], "tracks.value_sets.outside_share"
    )
    assert "tracks.occurred_after_received" in warned.observed_value
    assert warned.sample_failing_rows[0]["rule"] == "tracks.occurred_after_received"


def test_null_shares_and_values_out_of_set_warn(raw: Path) -> None:
    def null_accounts(table: pa.Table, _: Path) -> pa.Table:
        bad = pa.array([i % 10 == 0 for i in range(table.num_rows)])
        return replaced(
            table, "account_id", pc.if_else(bad, pa.scalar(None, pa.string()), table["account_id"])
        )

    def bad_scores(table: pa.Table, _: Path) -> pa.Table:
        scores = pa.array([11] * table.num_rows, type=table.schema.field("score").type)
        return replaced(table, "score", scores)

    rewrite(raw, "users", null_accounts)
    rewrite(raw, "survey_responses", bad_scores)
    # 6 null account ids of 60 users are 10 % but under the 20 bad rows of evidence: no warning.
    quiet = validate_raw(raw, ALL_TABLES, {}, {})[0]
    assert outcome(quiet, "users.required_columns.null_share").success
    validation = validate_raw(raw, ALL_TABLES, {}, {"quality_min_bad_rows": 1})[0]
    nulls = assert_warns(validation, "users.required_columns.null_share")
    assert "(users.account_id)" in nulls.observed_value and "> 0.01" in nulls.observed_value
    assert nulls.sample_failing_rows[0]["column_name"] == "users.account_id"
    values = assert_warns(validation, "survey_responses.value_sets.outside_share")
    assert values.sample_failing_rows[0] == {
        "rule": "survey_responses.score",
        "value": "11",
        "rows": values.sample_failing_rows[0]["rows"],
    }


def test_volume_below_previous_runs_warns(good_raw: Path) -> None:
    validation, volumes = validate_raw(
        good_raw, ALL_TABLES, {"tracks": [1_000_000, 900_000, 1]}, {}
    )
    warned = assert_warns(validation, "tracks.volume_vs_previous_runs")
    assert "< 50% of the median 9e+05 of the last 3 successful runs" in warned.observed_value
    steady = validate_raw(good_raw, ALL_TABLES, {"tracks": [volumes["tracks"]] * 3}, {})[0]
    assert outcome(steady, "tracks.volume_vs_previous_runs").success


# Judge the days of the 60-user fixture (their medians are 50 to 300 events).
SMALL_PRODUCT = {"daily_volume_min_median_events": 50}


def drop_received_day(raw: Path, day: date) -> None:
    rewrite(
        raw, "tracks", lambda table, _: table.filter(pc.invert(on_day(table["received_at"], day)))
    )


def test_volume_gates_ignore_received_days_after_as_of(raw: Path) -> None:
    """A missing load after as_of is nothing the marts read: with as_of it does not block."""
    drop_received_day(raw, date(2025, 1, 20))
    failed = assert_blocks(
        validate_raw(raw, ALL_TABLES, {}, SMALL_PRODUCT)[0], "tracks.daily_volume.gap"
    )
    assert failed.dates == ("2025-01-20",)
    as_of = {**SMALL_PRODUCT, "as_of_date": "2025-01-16"}
    passed = outcome(validate_raw(raw, ALL_TABLES, {}, as_of)[0], "tracks.daily_volume.gap")
    assert passed.success and "up to as_of 2025-01-16" in passed.observed_value


def test_a_slow_ramp_and_one_noisy_day_are_no_gap(raw: Path) -> None:
    """A day far below the days after it but not below the days before (a product's first
    weeks) is a ramp, not a lost load."""

    def ramp(table: pa.Table, _: Path) -> pa.Table:
        # Keep 5 % of the events received before MIDDLE_DAY: a tenfold ramp up to it.
        early = pc.less(table["received_at"].cast(pa.timestamp("us")),
                        pa.scalar(datetime(2025, 1, 15), pa.timestamp("us")))  # fmt: skip
        keep = pc.or_(pc.invert(early), pa.array([i % 20 == 0 for i in range(table.num_rows)]))
        return table.filter(keep)

    rewrite(raw, "tracks", ramp)
    validation = validate_raw(raw, ALL_TABLES, {}, {"daily_volume_min_median_events": 1})[0]
    assert outcome(validation, "tracks.daily_volume.gap").success, format_report([validation])


def test_the_raw_suite_on_a_batch_scans_only_the_batch_and_reads_history(
    raw: Path, tmp_path: Path
) -> None:
    """An incremental run's raw suite: row-level checks see only the rows received since the
    batch's first day; the gap gate takes the days before it from the audit history."""
    audit = tmp_path / "run.audit.duckdb"
    first, volumes = validate_raw(raw, ALL_TABLES, {}, SMALL_PRODUCT)
    assert blocking_names(first) == []
    assert len(first.daily_volumes["tracks"]) == 30
    now = datetime.now(UTC)
    record_run(audit, "full", now, now, "success", [first], volumes)

    since = date(2025, 1, 20)

    def flood_before_batch(table: pa.Table, _: Path) -> pa.Table:
        naive = table["received_at"].cast(pa.timestamp("us"))
        old = table.filter(pc.less(naive, pa.scalar(datetime(2025, 1, 20), pa.timestamp("us"))))
        return pa.concat_tables([table, old, old, old])

    rewrite(raw, "tracks", flood_before_batch)
    drop_received_day(raw, date(2025, 1, 22))
    full = validate_raw(raw, ALL_TABLES, {}, SMALL_PRODUCT)[0]
    assert "tracks.event_id.duplicate_share" in blocking_names(full)

    batch = validate_raw(raw, ALL_TABLES, {}, SMALL_PRODUCT, received_since=since, audit_db=audit)[
        0
    ]
    failed = assert_blocks(batch, "tracks.daily_volume.gap")  # the old flood is not scanned
    assert failed.dates == ("2025-01-22",)
    assert min(batch.daily_volumes["tracks"]) == since.isoformat()
    # Without history the batch's first week has no days before it to be judged against.
    alone = validate_raw(raw, ALL_TABLES, {}, SMALL_PRODUCT, received_since=since)[0]
    assert outcome(alone, "tracks.daily_volume.gap").success


def test_threshold_vars_are_checked(good_raw: Path) -> None:
    for bad, message in (
        (
            {"quality_table_thresholds": {"tickets": {"quarantine_max_share": 0.1}}},
            "unknown raw table",
        ),
        ({"quality_table_thresholds": {"tracks": {"max_share": 0.1}}}, "unknown threshold"),
        ({"quarantine_max_share": 2}, "share in [0, 1]"),
        ({"earliest_valid_date": "1st of May"}, "YYYY-MM-DD"),
    ):
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
            validate_raw(good_raw, ALL_TABLES, {}, bad)


# ---------------------------------------------------------------------------- staging


def make_db(path: Path, statements: list[str]) -> Path:
    with duckdb.connect(str(path)) as con:
        for statement in statements:
            con.execute(statement)
    return path


GOOD_STAGING = [
    "create schema staging",
    "create schema monitoring",
    "create schema reference",
    """create table staging.stg_product__tracks as select * from (values
        ('e1', 'a1', 'u1', 'x', timestamp '2025-01-01 10:00', timestamp '2025-01-01 10:00:05'),
        ('e2', 'a1', null, 'x', timestamp '2025-01-02 10:00', timestamp '2025-01-02 10:00:05'),
        ('e3', 'a2', 'u2', 'x', timestamp '2025-01-03 10:00', timestamp '2025-01-03 10:00:05'))
        t(event_id, anonymous_id, user_id, event_name, occurred_at, received_at)""",
    """create table staging.stg_product__identity_map as select * from (values
        ('a1', 'u1', timestamp '2025-01-01 10:00', 'e1'),
        ('a2', 'u2', timestamp '2025-01-03 10:00', 'e3'))
        t(anonymous_id, user_id, stitched_at, stitching_event_id)""",
    """create table staging.stg_app__user_versions as select * from (values
        ('u1', timestamp '2025-01-01', timestamp '2025-01-01'),
        ('u1', timestamp '2025-01-05', timestamp '2025-01-01'),
        ('u2', timestamp '2025-01-03', timestamp '2025-01-03'))
        t(user_id, updated_at, created_at)""",
    """create table staging.stg_app__account_versions as select * from (values
        ('c1', timestamp '2025-01-01', timestamp '2025-01-01'))
        t(account_id, updated_at, created_at)""",
    """create table staging.stg_billing__billing_events as select * from (values
        ('b1', 'USD', timestamp '2025-01-02', timestamp '2025-01-02 00:01'),
        ('b2', 'EUR', timestamp '2025-01-03', timestamp '2025-01-03 00:01'))
        t(billing_event_id, currency, occurred_at, received_at)""",
    """create table staging.stg_surveys__survey_responses as select * from (values
        ('r1', timestamp '2025-01-02')) t(response_id, submitted_at)""",
    """create table staging.stg_support__ticket_versions as select * from (values
        ('k1', timestamp '2025-01-02', timestamp '2025-01-02'))
        t(ticket_id, updated_at, created_at)""",
    """create table staging.stg_email__email_events as select * from (values
        ('m1', timestamp '2025-01-02')) t(email_event_id, occurred_at)""",
    """create table reference.fx_rates as select * from (values ('USD', 1.0), ('EUR', 1.08))
        t(currency, rate_to_reporting)""",
    """create table monitoring.unknown_event_names (event_name varchar, events bigint,
        first_seen_at timestamp, last_seen_at timestamp)""",
    """create table monitoring.quarantine_summary as select * from (values
        ('tracks', 'none', 0, 0, 1000, 0.0),
        ('users', 'null_account_id', 5, 5, 1000, 0.005),
        ('accounts', 'none', 0, 0, 10, 0.0),
        ('billing_events', 'none', 0, 0, 0, null),
        ('survey_responses', 'none', 0, 0, 0, null),
        ('support_tickets', 'none', 0, 0, 0, null),
        ('email_events', 'none', 0, 0, 0, null))
        t(raw_table, quarantine_rule, rows_quarantined_by_rule, rows_quarantined, rows_read,
          quarantined_share)""",
]


@pytest.fixture
def staging_db(tmp_path: Path) -> Iterator[Path]:
    yield make_db(tmp_path / "build.duckdb", GOOD_STAGING)


def test_good_staging_passes(staging_db: Path) -> None:
    validation = validate_database(staging_db, "staging", {})
    assert validation.layer == "staging"
    assert [o for o in validation.outcomes if not o.success] == [], format_report([validation])
    # the file was closed: it opens read-write again
    duckdb.connect(str(staging_db)).close()


@pytest.mark.parametrize(
    ("statement", "name", "observed"),
    [
        (
            "insert into staging.stg_product__tracks select * from staging.stg_product__tracks"
            " where event_id = 'e1'",
            "stg_product__tracks.event_id.unique",
            "1 duplicate and 0 null keys in 4 rows",
        ),
        (
            "insert into staging.stg_billing__billing_events values"
            " ('b3', 'XXX', timestamp '2025-01-03', timestamp '2025-01-03')",
            "stg_billing__billing_events.currency.in_fx_rates",
            "1 of 3 rows",
        ),
        (
            "insert into staging.stg_product__identity_map values"
            " ('a9', 'u9', timestamp '2025-01-03', 'e3')",
            "stg_product__identity_map.user_id.in_tracks",
            "1 of 3 rows",
        ),
        (
            "insert into staging.stg_product__tracks values ('e4', 'a1', 'u1', 'x',"
            " timestamp '1970-01-01', timestamp '2025-01-03 10:00:05')",
            "stg_product__tracks.occurred_at.in_range",
            "from 1970-01-01",
        ),
        (
            "update monitoring.quarantine_summary set rows_quarantined = 50,"
            " rows_quarantined_by_rule = 50 where raw_table = 'users'",
            "users.quarantined_share",
            "users: 50 of 1,000 rows quarantined, share 0.05 > 0.01",
        ),
    ],
)
def test_bad_staging_blocks(staging_db: Path, statement: str, name: str, observed: str) -> None:
    make_db(staging_db, [statement])
    failed = assert_blocks(validate_database(staging_db, "staging", {}), name)
    assert observed in failed.observed_value, failed.observed_value


def test_quarantine_threshold_is_a_var(staging_db: Path) -> None:
    # 5 quarantined users are over a 0.1 % share but under 20 bad rows: evidence too thin.
    thin = validate_database(staging_db, "staging", {"quarantine_max_share": 0.001})
    assert blocking_names(thin) == []
    passed = outcome(thin, "users.quarantined_share")
    assert passed.success and "fewer than 20 rows" in passed.observed_value
    per_table = {"users": {"quarantine_max_share": 0.001, "quality_min_bad_rows": 5}}
    validation = validate_database(staging_db, "staging", {"quality_table_thresholds": per_table})
    failed = assert_blocks(validation, "users.quarantined_share")
    assert failed.relation == "users"
    assert failed.sample_failing_rows == [
        {"quarantine_rule": "null_account_id", "rows_quarantined_by_rule": 5}
    ]


def test_unknown_event_names_warn_and_missing_relation_blocks(staging_db: Path) -> None:
    make_db(
        staging_db,
        [
            "insert into monitoring.unknown_event_names values ('new_thing', 7, null, null)",
            "drop table staging.stg_email__email_events",
        ],
    )
    validation = validate_database(staging_db, "staging", {})
    assert outcome(validation, "tracks.unknown_event_names").severity == "warn"
    assert not outcome(validation, "tracks.unknown_event_names").success
    missing = outcome(validation, "stg_email__email_events.email_event_id.unique")
    assert missing.blocks and "missing relation" in missing.observed_value


# ---------------------------------------------------------------------------- marts


GOOD_MARTS = [
    "create schema marts",
    """create table marts.active_users_daily as select * from (values
        (date '2025-01-01', 1, 2, 3, 0.33), (date '2025-01-02', 2, 2, 3, 0.66),
        (date '2025-01-03', 1, 3, 3, 0.33)) t(date, dau, wau, mau, stickiness)""",
    """create table marts.user_churn_monthly as select * from (values
        (date '2025-01-01', 0, 0, null), (date '2025-02-01', 4, 1, 0.25))
        t(month, active_users_previous_month, churned_users, user_churn_rate)""",
    """create table marts.mrr_movements_monthly as select * from (values
        (date '2025-01-01', 0.00, 100.00, 0.00, 0.00, 0.00, 0.00, 100.00, 0.0, null),
        (date '2025-02-01', 100.00, 50.00, 20.00, 10.00, 30.00, 0.00, 130.00, 0.5, 0.4))
        t(month, starting_mrr, new_mrr, expansion_mrr, contraction_mrr, churned_mrr,
          reactivation_mrr, ending_mrr, logo_churn_rate, gross_mrr_churn_rate)""",
    """create table marts.fct_account_mrr_monthly as select * from (values
        ('c1', date '2025-01-01', 0.00, 100.00, 100.00)) t(account_id, month, starting_mrr,
        ending_mrr, mrr_change)""",
    """create table marts.retention_cohorts as select * from (values
        ('month', date '2025-01-01', 'all', 'all', 0, 5, 5, 1.0),
        ('month', date '2025-01-01', 'persona', 'solo', 0, 2, 2, 1.0),
        ('month', date '2025-01-01', 'persona', 'smb', 0, 3, 3, 1.0),
        ('month', date '2025-01-01', 'channel', 'direct', 0, 5, 5, 1.0))
        t(cohort_granularity, cohort_start, segment_type, segment_value, period_number,
          cohort_size, retained_users, retention_rate)""",
    """create table marts.nps_monthly as select * from (values
        (date '2025-01-01', 'all', 'all', 10, -20.0), (date '2025-02-01', 'all', 'all', 3, 100.0))
        t(month, segment_type, segment_value, responses, nps)""",
    """create table marts.dim_users as select * from (values ('u1', 'c1'))
        t(user_id, account_id)""",
    """create table marts.aha_moment_candidates as select * from (values ('x', 1.7, 0.5, 0.2))
        t(event_name, lift, retention_if_did, share_of_retained_who_did)""",
]


@pytest.fixture
def marts_db(tmp_path: Path) -> Path:
    return make_db(tmp_path / "build.duckdb", GOOD_MARTS)


def test_rate_columns_are_recognised() -> None:
    rates = ["activation_rate", "stickiness", "new_user_ticket_share", "retention_if_did",
             "share_of_not_retained_who_did", "unbounded_retention_rate"]  # fmt: skip
    others = ["net_revenue_retention", "lift", "nps", "tickets_per_100_active_users", "rate"]
    assert all(is_rate_column(c) for c in rates)
    assert not any(is_rate_column(c) for c in others)


def test_good_marts_pass(marts_db: Path) -> None:
    validation = validate_database(marts_db, "marts", {})
    assert [o for o in validation.outcomes if not o.success] == [], format_report([validation])
    names = {o.expectation for o in validation.outcomes}
    assert {"aha_moment_candidates.rates_in_0_1", "nps_monthly.nps_in_range"} <= names
    assert all(o.severity == "error" for o in validation.outcomes)


@pytest.mark.parametrize(
    ("statement", "name", "observed"),
    [
        (
            "update marts.aha_moment_candidates set retention_if_did = 1.2",
            "aha_moment_candidates.rates_in_0_1",
            "max 1.2, outside [0, 1] (aha_moment_candidates.retention_if_did)",
        ),
        (
            "update marts.nps_monthly set nps = 150 where responses = 3",
            "nps_monthly.nps_in_range",
            "max 150, outside [-100, 100]",
        ),
        (
            "update marts.active_users_daily set dau = 5 where date = date '2025-01-02'",
            "active_users_daily.dau_le_wau_le_mau",
            "1 rows with not dau <= wau <= mau",
        ),
        (
            "delete from marts.active_users_daily where date = date '2025-01-02'",
            "active_users_daily.no_missing_days",
            "1 missing days between 2025-01-01 and 2025-01-03",
        ),
        (
            "insert into marts.user_churn_monthly values (date '2025-04-01', 3, 1, 0.33)",
            "user_churn_monthly.no_missing_months",
            "1 missing months",
        ),
        (
            "update marts.mrr_movements_monthly set ending_mrr = 150 where month = '2025-02-01'",
            "mrr_movements_monthly.movement_identity",
            "1 months where",
        ),
        (
            "update marts.mrr_movements_monthly set starting_mrr = 90, new_mrr = 60"
            " where month = '2025-02-01'",
            "mrr_movements_monthly.ending_is_next_starting",
            "1 months whose ending_mrr",
        ),
        (
            "update marts.retention_cohorts set cohort_size = 4 where segment_value = 'direct'",
            "retention_cohorts.segment_cohort_sizes",
            "1 cohort periods",
        ),
        ("delete from marts.dim_users", "dim_users.has_rows", "0 rows"),
    ],
)
def test_bad_marts_block(marts_db: Path, statement: str, name: str, observed: str) -> None:
    make_db(marts_db, [statement])
    validation = validate_database(marts_db, "marts", {})
    if name == "dim_users.has_rows":  # a table-level count: the frame row is the sample
        assert blocking_names(validation) == [name]
        failed = outcome(validation, name)
    else:
        failed = assert_blocks(validation, name)
    assert observed in failed.observed_value, failed.observed_value


# ---------------------------------------------------------------------------- report


def test_report_names_layer_expectation_severity_value_and_samples() -> None:
    error = ExpectationOutcome(
        "raw", "tracks.event_id.duplicate_share", "error", False, "0.8 > 0.2",
        [{"event_id": "e1", "copies": 5}],
    )  # fmt: skip
    warn = ExpectationOutcome("staging", "tracks.unknown_event_names", "warn", False, "2 names")
    ok = ExpectationOutcome("marts", "dim_users.has_rows", "error", True, "10 rows")
    report = format_report(
        [
            LayerValidation("staging", [warn]),
            LayerValidation("raw", [error]),
            LayerValidation("marts", [ok]),
        ]
    )
    lines = report.splitlines()
    assert "1/3 expectations passed" in lines[0] and "1 blocking, 1 warning" in lines[0]
    assert lines[1] == "  BLOCKING [raw] tracks.event_id.duplicate_share (error): 0.8 > 0.2"
    assert lines[2].strip() == "event_id=e1, copies=5"
    assert lines[3].startswith("  WARNING [staging] tracks.unknown_event_names (warn): 2 names")
    assert "dim_users" not in report


# ---------------------------------------------------------------------------- history, docs


def test_history_round_trip(tmp_path: Path) -> None:
    audit = tmp_path / "audit.duckdb"  # catalog name equals the schema name: must work
    assert previous_volumes(audit) == {}
    validation = LayerValidation(
        "raw", [ExpectationOutcome("raw", "tracks.has_rows", "error", True, "3 rows")]
    )
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i, (status, rows) in enumerate(
        [("success", 100), ("failed", 1), ("success", 120), ("success", 130)]
    ):
        at = start + timedelta(hours=i)
        record_run(
            audit, f"run-{i}", at, at + timedelta(minutes=1), status, [validation],
            {"tracks": rows, "users": 10},
        )  # fmt: skip
    assert previous_volumes(audit) == {"tracks": [130, 120, 100], "users": [10, 10, 10]}
    assert previous_volumes(audit, runs=2) == {"tracks": [130, 120], "users": [10, 10]}
    with duckdb.connect(str(audit), read_only=True) as con:
        results = con.execute(
            "select run_id, layer, expectation, severity, success, observed_value"
            ' from "audit".audit.validation_results order by run_id'
        ).fetchall()
        runs = con.execute('select count(*) from "audit".audit.validation_runs').fetchone()
    assert results[0] == ("run-0", "raw", "tracks.has_rows", "error", True, "3 rows")
    assert len(results) == 4 and runs == (4,)


def test_data_docs_index_is_written(staging_db: Path, tmp_path: Path) -> None:
    validation = validate_database(staging_db, "staging", {})
    index = build_data_docs([validation], tmp_path / "docs" / "run-1", "run-1")
    assert index == (tmp_path / "docs" / "run-1" / "index.html").resolve()
    assert index.exists()
    html = index.read_text()
    assert "staging.users.quarantined_share" in html
    assert list((index.parent / "validations" / "staging").glob("**/*.html"))


def test_one_gx_context_per_run_and_acknowledged_failures_in_the_data_docs(
    staging_db: Path, good_raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run validates three layers and writes its Data Docs with one GX context (creating
    one costs ~0.5 s, importing GX ~7 s); an acknowledged failure shows in the docs."""
    import great_expectations as gx

    from saas_lifecycle.quality import validate
    from saas_lifecycle.quality.acknowledgements import Ledger, parse

    created: list[object] = []
    real = gx.get_context

    def counting(*args: object, **kwargs: object) -> object:
        created.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(validate, "_CONTEXT", None)
    monkeypatch.setattr(gx, "get_context", counting)
    raw = validate_raw(good_raw, ALL_TABLES, {}, {})[0]
    thin = {"quality_table_thresholds": {"users": {"quarantine_max_share": 0.001,
                                                   "quality_min_bad_rows": 1}}}  # fmt: skip
    staging = validate_database(staging_db, "staging", thin)
    ledger = Ledger(parse({"acknowledgements": [{
        "expectation": "users.quarantined_share", "batch": "2025-01-30",
        "reason": "known test rows", "author": "qa"}]}))  # fmt: skip
    ledger.apply(staging, date(2025, 1, 30))
    assert staging.blocking_failures == [] and len(staging.acknowledged) == 1
    index = build_data_docs([raw, staging], tmp_path / "docs", "run-2")
    build_data_docs([staging], tmp_path / "docs-again", "run-3")
    assert len(created) == 1
    suite_pages = list((index.parent / "expectations" / "staging").glob("**/*.html"))
    notes = [p for p in suite_pages if "known test rows (qa)" in p.read_text()]
    assert [p.stem for p in notes] == ["quarantined_share"], suite_pages
