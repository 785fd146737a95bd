"""The command line in a subprocess, on CSV and Parquet files: outputs, messages, exit codes."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import polars as pl
import pytest

import journeygraph as jg
from journeygraph import datasets

SCRIPT = Path(sys.executable).parent / "journeygraph"  # installed by [project.scripts]


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journeygraph", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


@cache
def sample() -> datasets.SampleData:
    return datasets.generate(500, seed=8)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample as a user would have it: CSV with their own column names, and Parquet."""
    folder = tmp_path_factory.mktemp("data")
    events = sample().events.rename({"customer_id": "user", "timestamp": "ts", "touchpoint": "ev"})
    out = {
        "csv": folder / "events.csv",
        "parquet": folder / "events.parquet",
        "customers": folder / "customers.csv",
        "map": folder / "map.yaml",
    }
    events.write_csv(out["csv"])
    events.write_parquet(out["parquet"])
    sample().customers.drop("archetype").rename({"customer_id": "user"}).write_csv(out["customers"])
    jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"]).to_yaml(out["map"])
    return out


COLUMNS = ["--customer", "user", "--timestamp", "ts", "--touchpoint", "ev"]


def test_report_from_csv_with_a_map_and_a_customer_table(
    files: dict[str, Path], tmp_path: Path
) -> None:
    done = run(
        "report", files["csv"], *COLUMNS, "--channel", "channel", "--map", files["map"],
        "--customers", files["customers"], "--outcome", "churned", "--k", "3",
        "--out", tmp_path / "report",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = tmp_path / "report" / "index.html"
    assert done.stdout.strip() == f"report: {page.resolve()}"
    # no progress bars when standard error is not a terminal; only the rows left out
    events = sample().events
    repeats = events.height - events.unique().height  # the sample has a few exact duplicates
    counted = f"{events.height:,} rows read, {events.height - repeats:,} kept\n"
    assert done.stderr == (counted + f"  dropped {repeats:,}: exact duplicate\n" if repeats else "")
    text = page.read_text(encoding="utf-8")
    assert 'data-kpi="customers" data-value="500"' in text
    assert '<section id="drivers">' in text
    assert '<section id="perception">' in text  # survey_score, found by its name
    assert len(list((tmp_path / "report" / "graphs").glob("archetype-*.html"))) == 3


def test_report_from_parquet_without_a_map(files: dict[str, Path], tmp_path: Path) -> None:
    done = run(
        "report", files["parquet"], *COLUMNS, "--k", "2", "--reached", "purchase",
        "--out", tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    proposed = jg.JourneyMap.from_yaml(tmp_path / "proposed-map.yaml")
    assert proposed.stage_names[-1] == "purchase"  # the proposed map ends at --reached
    text = (tmp_path / "index.html").read_text("utf-8")
    assert "This journey map is proposed" in text
    assert "What goes with reached purchase" in text


def test_invalid_rows_stop_the_report_unless_dropped(
    files: dict[str, Path], tmp_path: Path
) -> None:
    events = pl.read_csv(files["csv"])
    bad = pl.concat(
        [events, events.head(2).with_columns(pl.lit("yesterday").alias("ts"))], how="vertical"
    )
    path = tmp_path / "bad.csv"
    bad.write_csv(path)
    stopped = run("report", path, *COLUMNS, "--k", "2", "--out", tmp_path / "a")
    assert stopped.returncode == 1
    assert "2 row(s) with unparseable timestamp" in stopped.stderr
    assert "or pass --on-invalid drop" in stopped.stderr  # the fix, as a command-line flag
    assert "on_invalid=" not in stopped.stderr
    dropped = run(
        "report", path, *COLUMNS, "--k", "2", "--on-invalid", "drop", "--out", tmp_path / "b"
    )
    assert dropped.returncode == 0, dropped.stderr
    kept = events.unique().height  # the sample's exact duplicates are dropped too
    assert f"{bad.height:,} rows read, {kept:,} kept" in dropped.stderr
    assert "dropped 2: unparseable timestamp" in dropped.stderr


def test_mine_writes_tables_and_the_aggregate_graph(files: dict[str, Path], tmp_path: Path) -> None:
    done = run("mine", files["parquet"], *COLUMNS, "--session-gap", "1d", "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    stats = pl.read_parquet(tmp_path / "stats.parquet")
    events = pl.read_parquet(files["parquet"]).unique()  # exact duplicates are dropped
    # a day's gap splits journeys: at least one per customer, every event in one
    assert stats.get_column("customer").n_unique() == events.get_column("user").n_unique()
    assert stats.height >= 500
    assert stats.get_column("events").sum() == events.height
    edges = pl.read_parquet(tmp_path / "edges.parquet")
    assert edges.get_column("count").sum() == events.height - stats.height
    nodes = pl.read_parquet(tmp_path / "nodes.parquet")
    assert nodes.get_column("visits").sum() == events.height
    assert (tmp_path / "aggregate.html").stat().st_size > 100_000
    assert f"wrote {(tmp_path / 'aggregate.html').resolve()}" in done.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--customer", "nope"], 1, "column 'nope' (--customer) is not in the events"),
        (["--k", "1"], 2, "argument --k: must be 'auto' or a whole number of archetypes"),
        (["--k", "many"], 2, "not 'many'"),
        (["--seed", "-1"], 2, "argument --seed"),
        (["--outcome", "nope"], 1, "no outcome column 'nope'"),
        (["--map", "missing.yaml"], 1, "no journey map file at 'missing.yaml'"),
        (["--customers", "missing.csv"], 1, "no customer table at 'missing.csv'"),
        (["--bogus"], 2, "unrecognized arguments: --bogus"),
    ],
)
def test_bad_input_exit_codes_and_messages(
    files: dict[str, Path], tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    base = ["report", files["csv"], "--customer", "user", "--timestamp", "ts"]
    done = run(*base, "--touchpoint", "ev", *args, "--out", tmp_path / "out", cwd=tmp_path)
    assert done.returncode == code
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "out").exists()


def test_missing_event_file_and_no_command(tmp_path: Path) -> None:
    done = run("report", tmp_path / "nope.csv", "--out", tmp_path / "out")
    assert done.returncode == 1
    assert done.stderr.startswith("journeygraph: error: no event file at")
    assert "Traceback" not in done.stderr
    done = run()
    assert done.returncode == 2
    assert "usage: journeygraph" in done.stderr


def test_invalid_journey_map_is_a_data_error(files: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "map.yaml"
    bad.write_text("stages:\n  - name: Buy\n    touchpoints: [pay]\n    colour: red\n")
    done = run("report", files["csv"], *COLUMNS, "--map", bad, "--out", tmp_path / "out")
    assert done.returncode == 1
    assert "invalid journey map" in done.stderr
    assert "colour" in done.stderr


def test_demo_writes_the_report(tmp_path: Path) -> None:
    done = run("demo", "--out", tmp_path, "--customers", "2000")
    assert done.returncode == 0, done.stderr
    page = tmp_path / "report" / "index.html"
    assert done.stdout.splitlines()[-1] == f"report: {page.resolve()}"
    text = page.read_text("utf-8")
    assert 'data-kpi="customers" data-value="2000"' in text
    for section in ("findings", "drivers", "changed", "segments", "funnel"):
        assert f'<section id="{section}">' in text  # every section, by channel and week
    events = pl.read_parquet(tmp_path / "events.parquet")
    assert events.get_column("customer_id").n_unique() == 2_000
    assert "archetype" not in pl.read_parquet(tmp_path / "customers.parquet").columns


def test_the_installed_script_runs() -> None:
    assert SCRIPT.is_file(), "reinstall the package (make test does): pip install -e ."
    done = subprocess.run(
        [SCRIPT, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"journeygraph {jg.__version__}"
