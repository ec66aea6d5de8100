"""The Dagster code location of the nightly job (load it with
`dagster dev -m saas_lifecycle.orchestration.definitions`).

One asset per raw table, dbt seed and dbt model; the Great Expectations suites and the dbt
tests as asset checks, the blocking ones stopping everything downstream; a final asset that
publishes the build (write-audit-publish). Modules: `project` (the dbt project and its
manifest), `resources` (run configuration and the run's shared state), `checks` (Great
Expectations results as asset checks), `assets`, `definitions`.
"""

import sys


def _spare_spawned_workers_from_pyspark_exit() -> None:
    """Make `import pyspark.sql.connect` fail with ImportError in Dagster's run workers.

    pyspark (the `spark` extra) calls `sys.exit(0)` when pyspark.sql.connect is imported in
    a process whose `__main__` has neither a spec nor a file: it takes that for its own
    doctest run. Dagster's run workers, started by multiprocessing's spawn, are such
    processes, and Great Expectations imports pyspark.sql.connect whenever pyspark is
    installed, so every run would stop at the first validation. An ImportError instead is
    what GX handles ("pyspark connect not installed"); the job never uses Spark Connect.
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
