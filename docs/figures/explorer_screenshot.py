"""Take the README's screenshot of the explorer (docs/figures/explorer.png), headless.

    python3 -m venv /tmp/shot && /tmp/shot/bin/pip install playwright
    /tmp/shot/bin/python docs/figures/explorer_screenshot.py [--chromium /usr/bin/chromium]

What it does: starts JupyterLab from the project's environment (``.venv``, after
``make notebooks`` has installed the ``notebooks`` extra) on a free local port,
serving a temporary directory with a three-cell notebook that calls
``secretome.explore()``; opens it in headless Chromium through Playwright, runs all
cells, waits until the explorer has drawn its figure, and saves the window as
``docs/figures/explorer.png``. Nothing is installed into the project's environment:
Playwright lives in its own virtual environment (it is not a dependency of
secretome), and it drives the system's Chromium (``--chromium``), so
``playwright install`` is not needed.

This is not a test: a person looks at the picture. Retake it when the explorer's
look changes.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "figures" / "explorer.png"
JUPYTER = ROOT / ".venv" / "bin" / "jupyter"
TOKEN = "secretome-screenshot"
NOTEBOOK = {
    "cells": [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": "# secretome explorer\n\n`secretome.explore()`: choose the experiment, "
            "see the pathways, apoptosis and viability with their uncertainty bands, and "
            "the paper's data where the choice is one of the papers' experiments.",
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": "%matplotlib inline\nimport secretome as st\nst.explore()",
        },
    ],
    "metadata": {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        }
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"JupyterLab did not answer at {url} within {seconds:.0f} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chromium", default="/usr/bin/chromium", help="the browser to drive")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the figure")
    args = p.parse_args(argv)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("needs Playwright: pip install playwright (in a scratch venv)", file=sys.stderr)
        return 2
    if not JUPYTER.is_file():
        print(f"no {JUPYTER}: run `make notebooks` first", file=sys.stderr)
        return 2
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="explorer-shot-") as work:
        (Path(work) / "explorer.ipynb").write_text(json.dumps(NOTEBOOK, indent=1))
        # user settings of this session only: no "Jupyter news?" toast over the picture
        news = Path(work) / "settings" / "@jupyterlab" / "apputils-extension"
        news.mkdir(parents=True)
        (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        server = subprocess.Popen(
            [
                str(JUPYTER),
                "lab",
                "--no-browser",
                f"--port={port}",
                f"--IdentityProvider.token={TOKEN}",
                f"--ServerApp.root_dir={work}",
                f"--LabApp.user_settings_dir={Path(work) / 'settings'}",
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for(f"{base}/api/status?token={TOKEN}", 60)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=args.chromium, headless=True)
                page = browser.new_page(viewport={"width": 1500, "height": 1250})
                page.goto(f"{base}/lab/tree/explorer.ipynb?token={TOKEN}")
                page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
                page.wait_for_selector(".jp-Notebook-ExecutionIndicator", timeout=60_000)
                time.sleep(3)  # the kernel connects
                page.click("text=Run", timeout=10_000)
                page.click("text=Run All Cells", timeout=10_000)
                page.wait_for_selector(
                    ".jp-OutputArea-output img", timeout=int(args.timeout * 1000)
                )
                time.sleep(3)  # the last redraw settles
                page.click(".jp-Cell >> nth=0")  # the title cell: no cursor in the code
                if page.is_visible(".jp-FileBrowser"):
                    page.keyboard.press("Control+b")  # the file browser is not the subject
                    time.sleep(1)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
