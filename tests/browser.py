"""A headless Chromium for the HTML reports' tests: the page as a browser lays it out."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def chromium() -> str | None:
    """The Chromium (or Chrome) binary, or ``None`` when there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Open ``page`` in headless Chromium with ``args`` (``--dump-dom``, ``--screenshot=``);
    the test is skipped where no Chromium is installed."""
    binary = chromium()
    if binary is None:
        pytest.skip("no Chromium binary (chromium, chromium-browser, google-chrome) found")
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args,
           page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


def dom(page: Path, profile: Path) -> str:
    """The page's DOM after Chromium has laid it out."""
    done = browse(page, profile, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
