"""dbt-duckdb plugin that gives every DuckDB cursor the e-mail salt as a session variable.

macros/hashing.sql compiles to `getvariable('lifecycle_email_salt')`, never to the salt
itself, so the salt reaches no compiled SQL, manifest, run result, log or docs page. This
plugin (named in profiles.yml's DuckDB outputs) reads it from the environment when dbt opens
a cursor and sets it as a bound parameter, which dbt neither logs nor writes to target/.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from saas_lifecycle.settings import email_salt

SALT_VARIABLE = "lifecycle_email_salt"


class Plugin(BasePlugin):
    """Sets the session variable on the database connection and on each cursor (a DuckDB
    cursor is a connection of its own: variables do not carry over)."""

    def configure_connection(self, conn: Any) -> None:
        conn.execute(f"set variable {SALT_VARIABLE} = ?", [email_salt()])

    def configure_cursor(self, cursor: Any) -> None:
        cursor.execute(f"set variable {SALT_VARIABLE} = ?", [email_salt()])
