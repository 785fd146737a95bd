"""Take the screenshot of docs/report.md with headless Chromium.

Run from the repository root (after ``make chromium`` and the dev install)::

    .venv/bin/python docs/img/make_report_screenshot.py

Writes ``report.png``: the top of the report of 5,000 seeded sample customers
(with the ideal journey map, churn as the outcome and the survey scores), as
``journeygraph demo --customers 5000`` would write it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

import journeygraph as jg
from journeygraph import datasets

OUT = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def main() -> None:
    sample = datasets.generate(5_000, seed=0)
    log = jg.read_events(sample.events, **datasets.COLUMNS)
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
    customers = sample.customers.drop("archetype")
    with tempfile.TemporaryDirectory() as folder:
        page_path = jg.report(log, jmap, folder, outcome="churned", customers=customers)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 1500})
            page.goto(page_path.as_uri())
            page.wait_for_selector("body[data-rendered]", state="attached")
            page.screenshot(path=OUT / "report.png")
            browser.close()


if __name__ == "__main__":
    main()
