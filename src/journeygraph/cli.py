"""The command line: ``journeygraph report | mine | demo`` (also ``python -m journeygraph``).

A thin layer over the public API: it parses arguments, calls
:func:`journeygraph.read_events`, :func:`journeygraph.mine` and
:func:`journeygraph.report`, and prints where the results are. Progress bars
go to standard error when it is a terminal (``--no-progress`` turns them off).

Exit codes:

* ``0``: done.
* ``1``: the input cannot be used: a missing file or column, invalid events,
  an invalid journey map or customer table. The message (on standard error,
  without a traceback) names the problem and the fix.
* ``2``: the command line is wrong: an unknown command or option, or a bad
  value such as ``--k 1``.
* ``130``: interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from ._errors import JourneygraphError

__all__ = ["main"]

_PROG = "journeygraph"
_TABLE_FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".ndjson": "ndjson"}
_TABLE_FORMATS[".jsonl"] = "ndjson"

_EXIT_CODES = """exit codes:
  0    done
  1    the input cannot be used (missing file or column, invalid events, map or table)
  2    the command line is wrong (unknown option, bad value)
  130  interrupted"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)  # exits with 2 on a usage error
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            try:
                return run(args)
            finally:  # say them once, without a source line
                for warning in caught:
                    print(f"{_PROG}: warning: {warning.message}", file=sys.stderr)
    except JourneygraphError as err:  # its fixes name Python keywords; say the flag here
        return _fail(_flags(str(err)))
    except pl.exceptions.PolarsError as err:
        return _fail(f"could not read the data: {err}")
    except OSError as err:
        return _fail(f"{err.strerror or err}: {err.filename}" if err.filename else str(err))
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=sys.stderr)
        return 130


# Python keywords in library messages -> the command-line flags that set them
_KEYWORDS = ("on_invalid", "timestamp_format", "separator", "session_gap", "duplicates")
_FLAG_FIXES = [
    (re.compile(r"\(given as (\w+)=\)"), r"(--\1)"),
    (re.compile(r"read_events\(\.\.\., session='session_id'\)"), "--session COL"),
]
_KEYWORD = re.compile(r"\b(" + "|".join(_KEYWORDS) + r")=('[^']*'|\w[\w.]*)?")


def _flag(match: re.Match[str]) -> str:
    keyword, value = match.group(1), match.group(2)
    if value is None:
        return f"--{keyword}"
    if re.fullmatch(r"'\w+'", value):  # a plain word needs no quotes in a shell
        value = value.strip("'")
    return f"--{keyword} {value}"


def _flags(message: str) -> str:
    """``message`` with the Python keywords it suggests written as command-line flags."""
    for pattern, repl in _FLAG_FIXES:
        message = pattern.sub(repl, message)
    message = _KEYWORD.sub(_flag, message)
    return re.sub(r"--(\w+)", lambda m: "--" + m.group(1).replace("_", "-"), message)


def _fail(message: str) -> int:
    print(f"{_PROG}: error: {message}", file=sys.stderr)
    return 1


# ----------------------------------------------------------------------- parser
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Measure real customer journeys: mine them, compare them with the journey "
        "map, find archetypes, and write it all as one offline HTML report.",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    from ._version import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    events = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    group = events.add_argument_group("events")
    group.add_argument("events", metavar="EVENTS", help="CSV, Parquet or NDJSON file (or glob)")
    for role, what in (
        ("customer", "customer id"),
        ("timestamp", "event time"),
        ("touchpoint", "event kind"),
    ):
        group.add_argument(
            f"--{role}", default=role, metavar="COL", help=f"{what} column (default {role})"
        )
    group.add_argument("--channel", metavar="COL", help="channel column (optional)")
    group.add_argument(
        "--session",
        metavar="COL",
        help="session (visit) id column (optional); with --journey session, one journey each",
    )
    group.add_argument(
        "--timestamp-format",
        metavar="FMT",
        help="strftime format of non-ISO timestamps, e.g. '%%m/%%d/%%Y %%H:%%M'",
    )
    group.add_argument(
        "--separator", metavar="SEP", help="CSV field separator (default: detected from the header)"
    )
    group.add_argument(
        "--duplicates",
        choices=("drop", "keep"),
        default="drop",
        help="events that exactly repeat an earlier one: drop and count them (default) or keep",
    )
    group.add_argument(
        "--on-invalid",
        choices=("raise", "drop"),
        default="raise",
        help="invalid rows (missing or unparseable values): stop with the list (raise, the "
        "default) or leave them out, counted by reason on standard error (drop)",
    )
    mining = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    _mining_options(mining.add_argument_group("mining (see jg.mine)"))
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument(
        "--no-progress", action="store_true", help="no progress bars on standard error"
    )

    def command(
        name: str,
        summary: str,
        run: Callable[[argparse.Namespace], int],
        *parents: argparse.ArgumentParser,
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary,
            parents=[*parents, common],
            epilog=_EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )
        sub.set_defaults(run=run)
        return sub

    report = command(
        "report", "Write the one-page HTML report of an event log.", _report, events, mining
    )
    report.description = (
        "Write the one-page HTML report of an event log (files on this machine; for events "
        "in Apache Spark call jg.report(spark_journeys, jmap, outdir, customers=...) from "
        "Python: see docs/spark.md)."
    )
    report.add_argument(
        "--map",
        type=Path,
        metavar="MAP",
        help="journey map, .yaml or .json (default: propose one from the journeys)",
    )
    report.add_argument(
        "--customers",
        type=Path,
        metavar="TABLE",
        help="one row per customer with outcomes and survey scores (.csv or .parquet); "
        "its customer column is 'customer' or the --customer name",
    )
    report.add_argument("--outcome", metavar="COL", help="boolean or numeric outcome to explain")
    report.add_argument(
        "--reached",
        metavar="TOUCHPOINT",
        help="explain reaching this touchpoint or stage (e.g. purchase): the moments that matter",
    )
    report.add_argument("--score", metavar="COL", help="survey score column (default: guessed)")
    report.add_argument(
        "--by",
        metavar="COL",
        help="add a Segments section and split the funnel by this column of --customers, "
        "or by the journeys' last channel when it names the --channel column",
    )
    report.add_argument(
        "--every",
        metavar="PERIOD",
        help="add a What changed section: rates per period like 1w or 1d against their baseline",
    )
    _model_options(report)
    report.add_argument("--title", help="page title")
    report.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write")

    mined = command(
        "mine",
        "Mine journeys: write edges, nodes and stats as Parquet and the aggregate graph as HTML.",
        _mine,
        events,
        mining,
    )
    mined.add_argument(
        "--top-k",
        type=_at_least(1, "transitions per touchpoint"),
        default=3,
        metavar="N",
        help="transitions per touchpoint drawn in aggregate.html (default 3)",
    )
    mined.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write")

    demo = command("demo", "Generate sample data and write its report.", _demo)
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("out/demo"),
        metavar="DIR",
        help="folder to write (default out/demo)",
    )
    demo.add_argument(
        "--customers",
        type=_at_least(100, "customers"),
        default=20_000,
        metavar="N",
        help="customers to generate (default 20000)",
    )
    _model_options(demo)
    return parser


def _mining_options(group: Any) -> None:
    group.add_argument(
        "--journey",
        choices=("customer", "session"),
        help="one journey per customer or per session (default: session when --session or "
        "--session-gap is given, else customer)",
    )
    group.add_argument(
        "--session-gap", metavar="GAP", help="start a new session after a gap like 30m, 2h, 1d"
    )
    group.add_argument(
        "--collapse-repeats",
        action="store_true",
        help="merge consecutive events of the same touchpoint within a session",
    )
    group.add_argument(
        "--rename",
        action="append",
        metavar="OLD=NEW",
        help="rename a touchpoint (repeat the option, or separate pairs with commas)",
    )
    group.add_argument(
        "--keep", action="append", metavar="TP", help="keep only these touchpoints (repeatable)"
    )
    group.add_argument(
        "--drop", action="append", metavar="TP", help="drop these touchpoints (repeatable)"
    )
    group.add_argument("--start", metavar="TIME", help="keep events at or after this ISO time")
    group.add_argument("--end", metavar="TIME", help="keep events before this ISO time")


def _mine_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of jg.mine from the mining options."""
    import datetime as dt

    journey = args.journey
    if journey is None:
        journey = "session" if args.session_gap or args.session else "customer"
    options: dict[str, Any] = {"journey": journey, "collapse_repeats": args.collapse_repeats}
    if args.session_gap is not None:
        options["session_gap"] = args.session_gap
    if args.rename:
        pairs = [p for text in args.rename for p in text.split(",") if p.strip()]
        bad = [p for p in pairs if p.count("=") != 1 or not all(p.split("="))]
        if bad:
            msg = f"--rename {bad[0]!r} is not OLD=NEW; write it like --rename Home=home"
            raise JourneygraphError(msg)
        options["rename"] = dict(p.strip().split("=") for p in pairs)
    for name in ("keep", "drop"):
        values = getattr(args, name)
        if values:
            options[name] = sorted({v.strip() for text in values for v in text.split(",")})
    for name in ("start", "end"):
        text = getattr(args, name)
        if text is not None:
            try:
                options[name] = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                msg = f"--{name} {text!r} is not an ISO time; write it like 2024-03-01T08:00"
                raise JourneygraphError(msg) from None
    return options


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--k",
        type=_archetypes,
        default="auto",
        metavar="auto|N",
        help="number of archetypes (default auto)",
    )
    parser.add_argument(
        "--seed", type=_at_least(0, "seed"), default=0, metavar="N", help="seed (default 0)"
    )


def _archetypes(text: str) -> int | str:
    if text == "auto":
        return text
    if text.isdigit() and int(text) >= 2:
        return int(text)
    msg = f"must be 'auto' or a whole number of archetypes, at least 2, not {text!r}"
    raise argparse.ArgumentTypeError(msg)


def _at_least(minimum: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if text.isdigit() and int(text) >= minimum:
            return int(text)
        msg = f"must be a whole number of {what}, at least {minimum}, not {text!r}"
        raise argparse.ArgumentTypeError(msg)

    parse.__name__ = what  # argparse names the type in some messages
    return parse


# --------------------------------------------------------------------- commands
def _read(args: argparse.Namespace) -> Any:
    import journeygraph as jg

    return jg.read_events(
        args.events,
        customer=args.customer,
        timestamp=args.timestamp,
        touchpoint=args.touchpoint,
        channel=args.channel,
        session=args.session,
        timestamp_format=args.timestamp_format,
        separator=_unescape(args.separator),
        on_invalid=args.on_invalid,
        duplicates=args.duplicates,
    )


def _unescape(separator: str | None) -> str | None:
    """``--separator '\\t'`` as typed in a shell means a tab."""
    return {"\\t": "\t", "tab": "\t"}.get(separator or "", separator)


def _report(args: argparse.Namespace) -> int:
    import journeygraph as jg

    log = _read(args)
    jmap = _journey_map(args.map) if args.map is not None else None
    customers = _table(args.customers, args.customer) if args.customers is not None else None
    journeys = jg.mine(log, **_mine_options(args))
    page = jg.report(
        journeys,
        jmap,
        args.out,
        outcome=args.outcome,
        reached=args.reached,
        customers=customers,
        score=args.score,
        k=args.k,
        seed=args.seed,
        title=args.title,
        progress=False if args.no_progress else None,
        by=args.by,
        every=args.every,
    )
    if journeys.report.rows_dropped:
        print(journeys.report, file=sys.stderr)
    print(f"report: {page.resolve()}")
    return 0


def _journey_map(path: Path) -> Any:
    from .journeymap import JourneyMap

    if not path.is_file():
        msg = f"no journey map file at {str(path)!r}; check --map"
        raise JourneygraphError(msg)
    if path.suffix.lower() == ".json":
        return JourneyMap.from_json(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return JourneyMap.from_yaml(path)
    msg = f"cannot tell the format of the journey map {str(path)!r}; use .yaml, .yml or .json"
    raise JourneygraphError(msg)


def _table(path: Path, customer: str) -> pl.DataFrame:
    """A customer table; ids read as text from CSV (``007`` stays ``007``)."""
    if not path.is_file():
        msg = f"no customer table at {str(path)!r}; check --customers"
        raise JourneygraphError(msg)
    kind = _TABLE_FORMATS.get(path.suffix.lower())
    if kind == "csv":
        ids = dict.fromkeys(("customer", customer), pl.String)
        separator = "\t" if path.suffix.lower() == ".tsv" else ","
        return pl.read_csv(path, separator=separator, schema_overrides=ids)
    if kind == "parquet":
        return pl.read_parquet(path)
    if kind == "ndjson":
        return pl.read_ndjson(path)
    msg = (
        f"cannot tell the format of the customer table {str(path)!r}; "
        "use .csv, .tsv, .parquet, .ndjson or .jsonl"
    )
    raise JourneygraphError(msg)


def _mine(args: argparse.Namespace) -> int:
    import journeygraph as jg

    journeys = jg.mine(_read(args), **_mine_options(args))
    out: Path = args.out
    if out.exists() and not out.is_dir():
        msg = f"--out {str(out)!r} is a file; name a folder"
        raise JourneygraphError(msg)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("edges", "nodes", "stats"):
        path = out / f"{name}.parquet"
        getattr(journeys, name).write_parquet(path)
        written.append(path)
    graph = jg.to_html(
        journeys.aggregate_graph("customers"), out / "aggregate.html", top_k=args.top_k
    )
    print(journeys)
    print(journeys.report)
    for path in [*written, graph]:
        print(f"wrote {path.resolve()}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    import journeygraph as jg
    from journeygraph import datasets

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    sample = datasets.generate(args.customers, seed=args.seed)
    events = out / "events.parquet"
    sample.events.write_parquet(events)
    # the planted archetype is the generator's ground truth, not something a company knows
    customers = out / "customers.parquet"
    sample.customers.drop("archetype").write_parquet(customers)
    jmap = out / "journey-map.yaml"
    jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"]).to_yaml(jmap)
    print(f"sample data: {events} ({sample.events.height:,} events), {customers}, {jmap}")
    argv = [
        "report",
        str(events),
        *[f"--{role}={column}" for role, column in datasets.COLUMNS.items()],
        f"--map={jmap}",
        f"--customers={customers}",
        "--outcome=churned",
        "--by=channel",
        "--every=1w",
        f"--k={args.k}",
        f"--seed={args.seed}",
        f"--out={out / 'report'}",
    ]
    print(f"running: {_PROG} {shlex.join(argv)}")
    if args.no_progress:
        argv.append("--no-progress")
    return _report(_parser().parse_args(argv))
