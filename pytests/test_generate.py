"""The synthetic raw data generator: determinism, the raw contract, injected bad rows, story.

Rules are checked with DuckDB SQL written here from RAW_CONTRACT.md (not with the
generator's code), so a generator bug cannot hide behind its own definitions.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from saas_lifecycle.contract import (
    BILLING_EVENT_TYPES,
    EMAIL_EVENT_TYPES,
    PLATFORMS,
    RAW_TABLES,
    ROLES,
    TICKET_CHANNELS,
    TICKET_STATUSES,
)
from saas_lifecycle.generate import MANIFEST, generate
from saas_lifecycle.generate_reference import UNKNOWN_EVENT_NAMES

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SMALL = {"users": 60, "days": 40, "seed": 7}
STORY = {"users": 800, "days": 120, "seed": 11}


def seed_column(name: str, column: str) -> list[str]:
    with (SEEDS / name).open(newline="", encoding="utf-8") as handle:
        return [row[column] for row in csv.DictReader(handle)]


def sql_list(values: list[str] | tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def rule_conditions(table: str) -> dict[str, str]:
    """Every quarantine rule of a raw table as a SQL condition true for a bad row."""
    rules = {
        f"null_{c.name}": f"{c.name} is null" for c in RAW_TABLES[table].columns if not c.nullable
    }
    currencies = sql_list(seed_column("fx_rates.csv", "currency"))
    rules.update(
        {
            "tracks": {
                "missing_user_and_anonymous_id": "user_id is null and anonymous_id is null",
                "occurred_after_received": "occurred_at > received_at + interval 1 day",
            },
            "billing_events": {
                "invalid_event_type": f"event_type not in {sql_list(BILLING_EVENT_TYPES)}",
                "negative_mrr_amount": "mrr_amount < 0",
                "unknown_currency": f"currency not in {currencies}",
            },
            "survey_responses": {"score_out_of_range": "score not between 0 and 10"},
            "support_tickets": {
                "invalid_status": f"status not in {sql_list(TICKET_STATUSES)}",
                "invalid_channel": f"channel not in {sql_list(TICKET_CHANNELS)}",
                "solved_before_created": "solved_at < created_at",
            },
            "email_events": {
                "invalid_event_type": f"event_type not in {sql_list(EMAIL_EVENT_TYPES)}"
            },
        }.get(table, {})
    )
    return rules


def connect(raw: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB with one view per raw table written under `raw`."""
    con = duckdb.connect()
    for table in RAW_TABLES:
        if (raw / table).is_dir():
            files = f"{raw / table}/**/*.parquet"
            con.execute(
                f"create view {table} as select * from read_parquet('{files}', "
                "hive_partitioning = false, union_by_name = false)"
            )
    con.execute(f"create view taxonomy as select * from read_csv('{SEEDS}/event_taxonomy.csv')")
    con.execute(f"create view channels as select * from read_csv('{SEEDS}/channel_mapping.csv')")
    return con


def rule_counts(con: duckdb.DuckDBPyConnection, table: str) -> tuple[dict[str, int], int]:
    """Rows breaking each rule, and rows breaking more than one."""
    rules = rule_conditions(table)
    flags = [f"coalesce({cond}, false)::int" for cond in rules.values()]
    counts = ", ".join(f"sum({flag})" for flag in flags)
    row = con.execute(
        f"select {counts}, count(*) filter (where {' + '.join(flags)} > 1) from {table}"
    ).fetchone()
    assert row is not None
    return dict(zip(rules, [int(v or 0) for v in row[:-1]], strict=True)), int(row[-1])


def read_table(raw: Path, table: str) -> pa.Table:
    """All files of a table, in file name order."""
    return pa.concat_tables(pq.read_table(f) for f in sorted((raw / table).rglob("*.parquet")))


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dirty")
    generate(out, **SMALL)
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate(out, **SMALL, dirty_rate=0)
    return out


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("story")
    generate(out, **STORY)
    return out


def manifest(raw: Path) -> dict:
    return json.loads((raw / MANIFEST).read_text(encoding="utf-8"))


def test_same_arguments_same_bytes(dirty: Path, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", **SMALL)
    files = sorted(p.relative_to(dirty) for p in dirty.rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(again.out_dir) for p in again.out_dir.rglob("*") if p.is_file()
    )
    for name in files:
        assert (dirty / name).read_bytes() == (again.out_dir / name).read_bytes(), name


def test_another_seed_other_data(dirty: Path, tmp_path: Path) -> None:
    other = generate(tmp_path / "other", **{**SMALL, "seed": SMALL["seed"] + 1})
    for table in RAW_TABLES:
        assert not read_table(dirty, table).equals(read_table(other.out_dir, table)), table


def test_every_file_has_the_contract_schema(dirty: Path) -> None:
    for name, table in RAW_TABLES.items():
        files = sorted((dirty / name).rglob("*.parquet"))
        assert files, name
        expected = [(c.name, c.arrow_type) for c in table.columns]
        for path in files:
            schema = pq.read_schema(path)
            assert [(f.name, f.type) for f in schema] == expected, path
            # Required columns are declared optional: bad rows hold nulls (quarantine's job).
            assert all(f.nullable for f in schema), path


def test_tracks_partitioned_by_received_date(dirty: Path) -> None:
    folders = {p.name for p in (dirty / "tracks").iterdir()}
    assert folders and all(f.startswith("received_date=") for f in folders)
    assert all((dirty / "tracks" / f / "part-0.parquet").is_file() for f in folders)
    con = duckdb.connect()
    wrong = con.execute(
        f"select count(*) from read_parquet('{dirty}/tracks/*/*.parquet', hive_partitioning = true)"
        " where received_at is not null and received_date <> cast(received_at as date)"
    ).fetchone()
    assert wrong == (0,)
    for name in RAW_TABLES:
        if name != "tracks":
            assert [p.name for p in (dirty / name).iterdir()] == ["part-0.parquet"]


def test_injected_counts_match_the_files(dirty: Path) -> None:
    con = connect(dirty)
    injected = manifest(dirty)["injected"]
    for table in RAW_TABLES:
        found, multiple = rule_counts(con, table)
        assert found == injected[table], table
        assert multiple == 0, f"{table}: a bad row breaks more than one rule"
        assert all(count >= 1 for count in found.values()), f"{table}: a rule got no bad row"


def test_clean_dataset_breaks_no_rule(clean: Path) -> None:
    con = connect(clean)
    for table in RAW_TABLES:
        found, _ = rule_counts(con, table)
        assert set(found.values()) == {0}, (table, found)
    assert all(set(v.values()) <= {0} for v in manifest(clean)["injected"].values())


def test_clean_values_are_in_their_sets(clean: Path) -> None:
    con = connect(clean)
    plans = sql_list(seed_column("plans.csv", "plan_id"))
    outside = {
        "platform": f"select count(*) from tracks where platform not in {sql_list(PLATFORMS)}",
        "role": f"select count(*) from users where role not in {sql_list(ROLES)}",
        "plan": f"select count(*) from billing_events where plan_id not in {plans}",
        "survey": "select count(*) from survey_responses where survey_type not in ('nps', 'csat')",
        "event": "select count(*) from tracks where event_name not in"
        " (select event_name from taxonomy)",
        "trial mrr": "select count(*) from billing_events where event_type in "
        "('trial_started', 'subscription_canceled') and mrr_amount <> 0",
        "paid mrr": "select count(*) from billing_events where event_type in "
        "('subscription_started', 'subscription_reactivated') and mrr_amount <= 0",
    }
    for what, query in outside.items():
        assert con.execute(query).fetchone() == (0,), what


def test_event_names_come_from_the_taxonomy(dirty: Path) -> None:
    con = connect(dirty)
    unknown = dict(
        con.execute(
            "select event_name, count(*) from tracks where event_name is not null"
            " and event_name not in (select event_name from taxonomy) group by 1"
        ).fetchall()
    )
    assert set(unknown) <= set(UNKNOWN_EVENT_NAMES)
    assert sum(unknown.values()) == manifest(dirty)["not_bad"]["tracks"]["unknown_event_names"] > 0


def test_every_channel_is_some_users_first_touch(story: Path) -> None:
    con = connect(story)
    groups = con.execute(
        """
        with stitched as (
            select anonymous_id, arg_min(user_id, occurred_at) as user_id
            from tracks where anonymous_id is not null and user_id is not null group by 1
        ),
        touches as (
            select coalesce(t.user_id, s.user_id) as user_id, t.occurred_at,
                lower(trim(t.utm_source)) as source, lower(trim(t.utm_medium)) as medium
            from tracks t left join stitched s using (anonymous_id)
            where t.utm_source is not null and t.occurred_at is not null
        ),
        first_touch as (select user_id, arg_min(source, occurred_at) as source,
            arg_min(medium, occurred_at) as medium from touches group by 1),
        matched as (
            select f.user_id, coalesce((select c.channel_group from channels c
                where f.source like c.utm_source_pattern and coalesce(f.medium, '') like
                c.utm_medium_pattern order by c.rule_order limit 1), 'other') as channel
            from first_touch f
        )
        select distinct coalesce(m.channel, 'direct')
        from users u left join matched m using (user_id)
        """
    ).fetchall()
    reached = {g for (g,) in groups}
    expected = set(seed_column("channel_mapping.csv", "channel_group")) | {"direct"}
    assert expected <= reached


def test_invoice_sent_early_is_the_aha_moment(story: Path) -> None:
    """Users who send an invoice on days 0..6 retain (days 28..34) 1.5x better, top lift."""
    con = connect(story)
    rows = con.execute(
        """
        with users_now as (
            select user_id, max_by(created_at, updated_at) as created_at from users
            where user_id is not null and created_at is not null and updated_at is not null
            group by 1
        ),
        events as (
            select distinct user_id, event_name, cast(occurred_at as date) as day from tracks
            where user_id is not null and event_name is not null and occurred_at is not null
                and received_at is not null and occurred_at <= received_at + interval 1 day
        ),
        active as (
            select distinct e.user_id, e.day from events e left join taxonomy t using (event_name)
            where coalesce(t.is_active, true)
        ),
        cohort as (
            select user_id, cast(created_at as date) as signup from users_now
            where cast(created_at as date) <= (select max(day) from active) - 35
        ),
        retained as (
            select c.user_id, c.signup, count(a.day) > 0 as retained from cohort c
            left join active a on a.user_id = c.user_id and a.day between c.signup + 28
                and c.signup + 34
            group by 1, 2
        ),
        candidates as (
            select event_name from taxonomy where category in ('core_feature', 'value')
        ),
        did as (
            select distinct r.user_id, e.event_name from retained r join events e
                on e.user_id = r.user_id and e.day between r.signup and r.signup + 6
        )
        select c.event_name,
            avg(r.retained::int) filter (where d.user_id is not null) as if_did,
            avg(r.retained::int) filter (where d.user_id is null) as if_not
        from candidates c cross join retained r
        left join did d on d.user_id = r.user_id and d.event_name = c.event_name
        group by 1
        """
    ).fetchall()
    lift = {name: did / not_ for name, did, not_ in rows if did is not None and not_}
    assert lift["invoice_sent"] >= 1.5
    assert max(lift, key=lift.get) == "invoice_sent", lift


def test_no_user_acts_before_signing_up(dirty: Path) -> None:
    con = connect(dirty)
    early = con.execute(
        "select count(*) from tracks t join users u using (user_id)"
        " where t.occurred_at < u.created_at"
    ).fetchone()
    assert early == (0,)
    signups = con.execute(
        "select count(*), count(*) filter (where user_id is not null and anonymous_id is not null)"
        " from tracks where event_name = 'account_created'"
    ).fetchone()
    assert signups is not None and signups[0] > 0
    assert signups[1] >= 0.9 * signups[0]  # sign-up stitches the device to the user


def test_only_the_named_tables(tmp_path: Path) -> None:
    (tmp_path / "billing_events").mkdir()  # a stale table from an earlier generation
    stats = generate(tmp_path, users=30, days=20, tables=["users", "tracks", "accounts"])
    written = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert written == ["accounts", "tracks", "users"]
    assert set(stats.rows) == set(stats.injected) == {"tracks", "users", "accounts"}
    assert stats.events == stats.rows["tracks"] > 0
    assert manifest(tmp_path)["parameters"]["tables"] == ["tracks", "users", "accounts"]
    with pytest.raises(ValueError, match="unknown raw tables"):
        generate(tmp_path, users=30, days=20, tables=["tracks", "events"])


def test_not_bad_oddities_are_there(dirty: Path, clean: Path) -> None:
    """Duplicates, orphan user ids and anonymous browsing exist even in a clean dataset."""
    for raw in (dirty, clean):
        con = connect(raw)
        duplicates = con.execute(
            "select count(*) - count(distinct event_id) from tracks where event_id is not null"
        ).fetchone()
        assert duplicates is not None and duplicates[0] > 0
        orphans = con.execute(
            "select count(*) from tracks where user_id not in"
            " (select user_id from users where user_id is not null)"
        ).fetchone()
        assert orphans is not None and orphans[0] > 0
        anonymous = con.execute(
            "select count(*) from tracks where user_id is null and anonymous_id is not null"
        ).fetchone()
        assert anonymous is not None and anonymous[0] > 0
        cdc = con.execute("select count(*) - count(distinct user_id) from users").fetchone()
        assert cdc is not None and cdc[0] > 0


def test_stats_and_manifest(dirty: Path) -> None:
    data = manifest(dirty)
    assert data["parameters"] == {
        **SMALL,
        "start": "2025-01-01",
        "end": "2025-02-10",
        "dirty_rate": 0.005,
        "tables": list(RAW_TABLES),
    }
    con = connect(dirty)
    for table, rows in data["rows"].items():
        assert con.execute(f"select count(*) from {table}").fetchone() == (rows,)
