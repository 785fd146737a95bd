"""Draw docs/img/architecture.png: the modules in data-flow order.

Run from the repository root (needs Chromium, see ``make chromium``)::

    .venv/bin/python docs/img/make_architecture.py

The picture is plain HTML and CSS, screenshotted by headless Chromium.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent / "architecture.png"

# (column title, [(module, what it owns, private?)])
COLUMNS = [
    (
        "read",
        [
            ("ingest.py", "read_events → EventLog; every dropped row counted", False),
            ("schema.py", "option models, durations", False),
        ],
    ),
    (
        "engine",
        [
            ("mine.py", "mine → Journeys: the public shell", False),
            ("_core.py", "Core: ordered events, blocks, codes, per-journey arrays", True),
            ("_kernels.py", "numba: order, segment, mine each block", True),
            ("_frames.py", "engine column names, polars helpers", True),
        ],
    ),
    (
        "analyses",
        [
            ("compare.py", "compare → Divergence (with journeymap.py, _align.py)", False),
            ("_deviations.py", "the deviation kinds: one registry", True),
            ("cluster.py", "cluster → Archetypes", False),
            ("_customers.py", "the customer table, checked once", True),
        ],
    ),
    (
        "present",
        [
            ("report.py", "report: run every step, write the folder", False),
            ("_facts.py", "Facts: every shared number", True),
            ("_report_html.py", "SECTIONS: one Section each", True),
            ("render.py", "to_html, draw: graphs only", False),
            ("_page.py", "page shell, CSS, vis-network, formatting", True),
        ],
    ),
]

CSS = """
body { font-family: sans-serif; margin: 24px; color: #212529; background: #fff; }
.flow { display: flex; gap: 18px; align-items: stretch; }
.col { flex: 1; display: flex; flex-direction: column; gap: 10px; }
.col h2 { font-size: 15px; text-transform: uppercase; color: #868e96; margin: 0 0 4px; }
.box { border: 2px solid #3b5bdb; background: #dbe4ff; border-radius: 8px; padding: 8px 10px; }
.box.private { border-style: dashed; border-color: #868e96; background: #f1f3f5; }
.box b { font-family: monospace; font-size: 15px; }
.box span { display: block; font-size: 13px; color: #495057; margin-top: 2px; }
.arrow { align-self: center; font-size: 28px; color: #adb5bd; }
.key { margin-top: 16px; font-size: 13px; color: #495057; }
"""


def html() -> str:
    parts = []
    for i, (title, boxes) in enumerate(COLUMNS):
        if i:
            parts.append('<div class="arrow">→</div>')
        items = "".join(
            f'<div class="box{" private" if private else ""}">'
            f"<b>{name}</b><span>{text}</span></div>"
            for name, text, private in boxes
        )
        parts.append(f'<div class="col"><h2>{title}</h2>{items}</div>')
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{CSS}</style></head><body>"
        f'<div class="flow">{"".join(parts)}</div>'
        '<p class="key">Solid: public modules. Dashed: private modules, shared through their '
        "plain names; no module imports another public module's private names.</p>"
        "</body></html>"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "architecture.html"
        page.write_text(html(), encoding="utf-8")
        subprocess.run(
            [
                "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--hide-scrollbars", f"--screenshot={OUT}", "--window-size=1200,460",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
    print(OUT)


if __name__ == "__main__":
    main()
