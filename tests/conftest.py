"""Shared test settings."""

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

# No per-example deadline: a timing assertion does not belong in a test, and on a
# loaded 2-core CI machine a graph layout can take longer than hypothesis' 200 ms.
settings.register_profile("journeygraph", deadline=None)
settings.load_profile("journeygraph")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session (``local[2]``) for every Spark test; the JVM starts once."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("journeygraph-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
