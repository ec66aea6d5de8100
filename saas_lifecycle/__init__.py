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
