"""The one-page report from Python, step by step: what ``journeygraph demo`` does.

Run ``python examples/report.py [FOLDER]`` (default ``out/example``). It
generates seeded sample data, reads it as events, and writes the report with
the company's ideal journey map, churn as the outcome and the customer table
(with survey scores) for the perception gap.
"""

from __future__ import annotations

import sys
from pathlib import Path

import journeygraph as jg
from journeygraph import datasets


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out/example")
    sample = datasets.generate(5_000, seed=0)
    log = jg.read_events(sample.events, **datasets.COLUMNS)
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
    # the planted archetype is the generator's answer key, not something a company knows
    customers = sample.customers.drop("archetype")
    page = jg.report(log, jmap, out, outcome="churned", customers=customers, seed=0)
    print(f"report: {page.resolve()}")


if __name__ == "__main__":
    main()
