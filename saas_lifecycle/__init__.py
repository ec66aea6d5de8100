"""saas_lifecycle: raw SaaS data to lifecycle marts."""

import sys


def _spare_spawned_workers_from_pyspark_exit() -> None:
    """Make `import pyspark.sql.connect` fail with ImportError in processes without a main file.

    pyspark (the `spark` extra) calls `sys.exit(0)` when pyspark.sql.connect is imported in
    a process whose `__main__` has neither a spec nor a file: it takes that for its own
    doctest run. Dagster's run workers (multiprocessing's spawn), pytest-xdist's workers and
    `python -c` are such processes, and Great Expectations imports pyspark.sql.connect
    whenever pyspark is installed, so they would stop at the first validation. An
    ImportError instead is what GX handles ("pyspark connect not installed"); nothing here
    uses Spark Connect.
    """
    main = sys.modules.get("__main__")
    if (
        main is not None
        and getattr(main, "__spec__", None) is None
        and not hasattr(main, "__file__")
        and not hasattr(sys, "ps1")
    ):
        sys.modules.setdefault("pyspark.sql.connect", None)  # type: ignore[arg-type]


_spare_spawned_workers_from_pyspark_exit()


def _silence_known_third_party_noise() -> None:
    """Keep a normal run's output to our own lines: two messages that say nothing to a user.

    - PySpark warns, on import, that it does not yet fully support pandas 3; Great
      Expectations imports it whenever the `spark` extra is installed, also on DuckDB runs.
    - Great Expectations logs at INFO that it created a temporary folder for its ephemeral
      Data Docs site (visible when something configured the root logger at INFO).
    Only these exact messages are filtered; every other warning and log line still shows.
    """
    import logging
    import warnings

    warnings.filterwarnings(
        "ignore",
        message=r"PySpark does not yet fully support pandas",
        category=FutureWarning,
    )

    class _NoEphemeralDocsNotice(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return not record.getMessage().startswith("Created temporary directory")

    logging.getLogger("great_expectations.data_context.types.base").addFilter(
        _NoEphemeralDocsNotice()
    )


_silence_known_third_party_noise()
