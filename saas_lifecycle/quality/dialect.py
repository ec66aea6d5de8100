"""The SQL the staging and marts suites write differently on DuckDB and on Spark.

The suites' queries are plain aggregates; only identifier quoting, timestamp arithmetic,
period differences, date series and the schema a layer was built in differ. Everything
else (count(*) filter (where ...), group by all, using joins) reads the same on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Engine = Literal["duckdb", "spark"]


@dataclass(frozen=True)
class Dialect:
    """How one engine spells the parts of the suites' SQL that differ.

    `schema_suffix` names the schemas a build wrote to (a Spark build slot writes
    `marts__blue` for `marts`; the DuckDB build file uses the plain names).
    """

    engine: Engine = "duckdb"
    schema_suffix: str = ""

    def quote(self, identifier: str) -> str:
        """A quoted identifier (columns named like keywords: date, month, users)."""
        if self.engine == "spark":
            return "`" + identifier.replace("`", "``") + "`"
        return '"' + identifier.replace('"', '""') + '"'

    def relation(self, schema: str, table: str) -> str:
        """schema.table as built, e.g. staging.stg_product__tracks."""
        return f"{schema}{self.schema_suffix}.{table}"

    def add_hours(self, timestamp: str, hours: float) -> str:
        """A timestamp plus a (possibly fractional) number of hours."""
        if self.engine == "spark":
            return f"({timestamp} + make_dt_interval(0, 0, 0, {hours * 3600}))"
        return f"{timestamp} + interval ({hours}) hour"

    def periods_between(self, unit: str, start: str, end: str) -> str:
        """Whole days or months from one period start to another."""
        if self.engine == "spark":
            return f"datediff({unit}, {start}, {end})"
        return f"date_diff('{unit}', {start}, {end})"

    def with_period_series(self, bounds: str, start: str, end: str, unit: str) -> str:
        """A from clause: the one-row subquery `bounds` joined to a column `t.p` holding every
        period start from its column `start` to its column `end`, one `unit` apart."""
        if self.engine == "spark":
            return (
                f"({bounds}) as bounds lateral view "
                f"explode(sequence({start}, {end}, interval 1 {unit})) t as p"
            )
        return f"({bounds}), generate_series({start}, {end}, interval 1 {unit}) as t(p)"


DUCKDB = Dialect()
