"""Real-browser fixtures: Debian's Chromium driven by playwright, with the network cut off.

``make test`` installs Chromium (``make chromium``); playwright's own browser
download is never used. One browser serves the whole session; every page gets
a fresh context.

`visit` opens a local file and records everything that should not happen: a
request to any host (routed and aborted, so nothing leaves the machine), any
request besides the page itself, console errors, uncaught exceptions and
dialogs (``alert``). Reuse it for any page journeygraph writes, through the
``open_page`` fixture::

    def test_report(open_page, tmp_path):
        path = jg.report(log, jmap, tmp_path / "report")
        with open_page(path / "index.html", screenshot="report.png") as seen:
            seen.assert_clean()
            assert seen.page.locator("h1").inner_text() == ...
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Route, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "out" / "test-artifacts"
CHROMIUM = Path(os.environ.get("JOURNEYGRAPH_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: run `make chromium` (as root) or set JOURNEYGRAPH_CHROMIUM"
        )
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """One opened page and what it did besides showing itself."""

    page: Page
    url: str
    external: list[str] = field(default_factory=list)  # requests to any host (aborted)
    requests: list[str] = field(default_factory=list)  # every request but the page itself
    errors: list[str] = field(default_factory=list)  # console errors, uncaught exceptions
    dialogs: list[str] = field(default_factory=list)  # alert / confirm / prompt

    def assert_clean(self) -> None:
        """No request besides the page, no error, no dialog."""
        assert self.external == []
        assert self.requests == []
        assert self.errors == []
        assert self.dialogs == []

    def evaluate(self, function: str, arg: object = None) -> object:
        """Run ``function`` (written as ``"() => ..."``: the pages forbid eval) in the page."""
        return self.page.evaluate(function, arg)


@contextmanager
def visit(
    browser: Browser,
    path: Path,
    *,
    ready: str | None = "body[data-rendered]",
    screenshot: str | None = None,
    viewport: tuple[int, int] = (1200, 900),
) -> Iterator[Visit]:
    """Open ``path`` in a fresh context; wait for ``ready``; screenshot into out/test-artifacts/."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    url = path.resolve().as_uri()
    page = context.new_page()
    seen = Visit(page=page, url=url)

    def route(r: Route) -> None:
        if r.request.url.startswith(LOCAL):
            r.continue_()
        else:
            seen.external.append(r.request.url)
            r.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.errors.append(f"console: {message.text}")

    def dialog(d: Dialog) -> None:
        seen.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    context.route("**/*", route)
    page.on("request", lambda r: None if r.url == url else seen.requests.append(r.url))
    page.on("websocket", lambda ws: seen.external.append(ws.url))
    page.on("console", console)
    page.on("pageerror", lambda e: seen.errors.append(f"uncaught: {e}"))
    page.on("dialog", dialog)
    try:
        page.goto(url)
        if ready is not None:
            page.wait_for_selector(ready, state="attached", timeout=15_000)
        yield seen
    finally:
        if screenshot is not None:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=ARTIFACTS / screenshot, full_page=True)
        context.close()


@pytest.fixture
def open_page(browser: Browser) -> Callable[..., AbstractContextManager[Visit]]:
    """`visit` bound to the session's browser: ``with open_page(path) as seen: ...``."""

    def opener(path: Path, **kwargs: object) -> AbstractContextManager[Visit]:
        return visit(browser, path, **kwargs)  # type: ignore[arg-type]

    return opener
