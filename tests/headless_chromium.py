"""A page as a person's browser renders it: headless Chromium (Debian's `chromium`) loads a URL, runs its scripts
and prints the resulting DOM (`--dump-dom`). For the tests marked `browser`; `make test` installs chromium when it
is missing (scripts/browser.sh), and a machine without it fails those tests with this module's message.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

__all__ = ["chromium", "rendered_dom", "visible_text"]

# Headless without the sandbox (tests run as root in containers), no GPU, and none of the browser's own traffic
# (updates, sync, QUIC probes) beyond the page.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium() -> str:
    """The Chromium binary: $GNP_CHROMIUM, else `chromium` on PATH; an AssertionError saying how to get it."""
    found = os.environ.get("GNP_CHROMIUM") or shutil.which("chromium")
    if not found:
        raise AssertionError(
            "no headless Chromium: `chromium` is not on PATH and GNP_CHROMIUM is unset. Install Debian's package "
            "(apt-get install -y chromium; `make test` does so itself when it runs as root or with passwordless "
            "sudo), or set GNP_SKIP_BROWSER=1 to skip the browser tests.")
    return found


def rendered_dom(url: str, profile: Path, budget_ms: int = 15000) -> str:
    """The DOM after the page's scripts ran for `budget_ms` of virtual time (which waits out network fetches)."""
    proc = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, f"chromium failed on {url} ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return proc.stdout


def visible_text(dom: str) -> str:
    """The DOM's text without tags, scripts and styles, with each run of whitespace made one space."""
    text = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", " ", dom, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return re.sub(r"\s+", " ", text).strip()
