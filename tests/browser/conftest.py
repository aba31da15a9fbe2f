"""Browser tests: the real server (uvicorn, as a subprocess) and a real Chromium driven by Playwright.

Chromium comes from Debian's ``chromium`` package (``make setup`` installs it where it can) at /usr/bin/chromium,
or wherever CHROMIUM_PATH points. Playwright never downloads a browser of its own. In CI (CI=true) a missing
browser fails the run; elsewhere the browser tests skip and say how to enable them.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

try:
    import playwright.sync_api  # noqa: F401
except ImportError:  # test_browser_available.py still runs, and says what is missing (or fails, in CI)
    collect_ignore_glob = ["test_browser_[!a]*.py"]
ENABLE = ("Browser tests need Chromium and Playwright: run `make setup` as root (it runs "
          "`apt-get install -y chromium`), or set CHROMIUM_PATH to a Chromium binary, and install the test extra "
          "(`pip install -e '.[test]'`).")


def chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def _unavailable(reason: str) -> None:
    message = f"{reason}. {ENABLE}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="package")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        _unavailable(f"No Chromium at {os.environ.get('CHROMIUM_PATH') or '/usr/bin/chromium'}")
    try:
        import playwright.sync_api as _  # noqa: F401
    except ImportError:
        _unavailable("The playwright package is not installed")
    assert path is not None
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="package")
def server_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's database file (set-ups that no form can make, such as a facilitator, write to it)."""
    return tmp_path_factory.mktemp("server") / "browser.db"


@pytest.fixture(scope="package")
def server(chromium: str, server_db: Path) -> Iterator[str]:
    """``masterclass serve`` on the Innovation Masterclass, on a fresh database and a free loopback port."""
    from .browserkit import COURSE

    folder = server_db.parent
    port = _free_port()
    command = [str(Path(sys.executable).with_name("masterclass")), "serve", str(COURSE),
               "--db", str(server_db), "--host", "127.0.0.1", "--port", str(port)]
    log_path = folder / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60  # start-up allowance only: compiling the course takes a moment
            while not _healthy(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start: {' '.join(command)}\n{log_path.read_text()}",
                                pytrace=False)
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    if process.returncode not in (0, -15):
        print(f"server log ({log_path}):\n{log_path.read_text()}")


@pytest.fixture(scope="package")
def browser(chromium: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    from .browserkit import CHROMIUM_ARGS

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


_emails = itertools.count(1)


@pytest.fixture(scope="package")
def snapshot_twin(browser: object) -> Iterator[object]:
    """Where axe-core checks what pages with JavaScript off rendered (see browserkit.SnapshotTwin)."""
    from playwright.sync_api import Browser

    from .browserkit import DESKTOP, SnapshotTwin

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport=DESKTOP)
    yield SnapshotTwin(context)
    context.close()


@pytest.fixture(scope="package")
def screenshots() -> Path:
    """test-output/screenshots/, emptied once per run so it holds only this run's pictures."""
    import shutil

    from .browserkit import SCREENSHOTS

    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


@pytest.fixture(scope="package")
def reader_state(browser: object, server: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The cookies of one learner shared by tests that only look (registering costs a password hash)."""
    from playwright.sync_api import Browser

    from .browserkit import register_by_request

    assert isinstance(browser, Browser)
    context = browser.new_context(base_url=server)
    register_by_request(context, server, f"reader-{os.getpid()}@example.gov.uk")
    path = tmp_path_factory.mktemp("reader") / "state.json"
    context.storage_state(path=path)
    context.close()
    return str(path)


@pytest.fixture(scope="package")
def capstone_world(browser: object, server: str, server_db: Path, tmp_path_factory: pytest.TempPathFactory
                   ) -> object:
    """Two teams, a published case study and a facilitator, shared by the capstone page types (see capstonekit)."""
    from playwright.sync_api import Browser

    from .capstonekit import build_world

    assert isinstance(browser, Browser)
    return build_world(browser, server, server_db, tmp_path_factory.mktemp("capstone"))


@pytest.fixture(scope="package")
def certificate_world(browser: object, server: str, server_db: Path, capstone_world: object,
                      tmp_path_factory: pytest.TempPathFactory) -> object:
    """Ada's certificate, Bob's revoked one and an admin, shared by the certificate page types (see
    certificatekit)."""
    from playwright.sync_api import Browser

    from .capstonekit import CapstoneWorld
    from .certificatekit import build_world

    assert isinstance(browser, Browser) and isinstance(capstone_world, CapstoneWorld)
    return build_world(browser, server, server_db, capstone_world, tmp_path_factory.mktemp("certificates"))


@pytest.fixture
def new_context(browser: object, server: str, request: pytest.FixtureRequest) -> Iterator[Callable[..., object]]:
    """Make browser contexts (JavaScript on or off) that are closed after the test."""
    from playwright.sync_api import Browser, BrowserContext, ViewportSize

    from .browserkit import DESKTOP, register_by_request

    assert isinstance(browser, Browser)
    made: list[BrowserContext] = []

    def make(*, javascript: bool = True, signed_in: bool = False, shared: bool = False,
             viewport: ViewportSize | None = None, name: str = "Test Learner", email: str = "",
             state: str | None = None) -> BrowserContext:
        """``signed_in``: as a new learner (``name``, ``email``); ``shared``: as the learner shared by tests that
        only look; ``state``: with these saved cookies."""
        state = request.getfixturevalue("reader_state") if shared else state
        context = browser.new_context(java_script_enabled=javascript, viewport=viewport or DESKTOP,
                                      base_url=server, locale="en-GB", reduced_motion="reduce", storage_state=state)
        context.set_default_timeout(15_000)
        made.append(context)
        if signed_in and not shared:
            register_by_request(context, server, email or f"learner{next(_emails)}-{os.getpid()}@example.gov.uk",
                                name=name)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def email() -> str:
    return f"journey{next(_emails)}-{os.getpid()}@example.gov.uk"
