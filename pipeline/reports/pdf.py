"""HTML report -> PDF with a headless Chromium, when one is installed.

The PDF is a convenience: without Chromium the reports are complete in HTML, and the batch
says so in one line instead of failing.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
NO_BROWSER = "PDF skipped: no chromium on this machine (apt-get install chromium to get PDFs)"


def find_browser() -> str | None:
    """Path of a Chromium-family browser, or ``None``."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _headless(browser: str, profile: str, *args: str) -> list[str]:
    # no network, no updates, no first-run dialogs: the page is a local file
    return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--disable-default-apps", "--hide-scrollbars", f"--user-data-dir={profile}", *args]


def html_to_pdf(html_path: Path, pdf_path: Path, browser: str, timeout: float = 120) -> Path:
    """Print ``html_path`` to ``pdf_path`` with ``browser``; raises ``RuntimeError`` on failure."""
    with tempfile.TemporaryDirectory(prefix="spsc-chromium-") as profile:
        cmd = _headless(browser, profile, "--no-pdf-header-footer",
                        f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri())
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"chromium could not print {html_path.name}: {tail[0]}")
    return pdf_path


def screenshot(html_path: Path, png_path: Path, browser: str, size: str = "1280,2000",
               timeout: float = 120) -> Path:
    """A PNG of the page as a browser shows it (for checking a report by eye)."""
    with tempfile.TemporaryDirectory(prefix="spsc-chromium-") as profile:
        subprocess.run(_headless(browser, profile, f"--screenshot={png_path}",
                                 f"--window-size={size}", html_path.resolve().as_uri()),
                       capture_output=True, text=True, timeout=timeout)
    return png_path
