"""Helpers for the web app's tests: staff accounts, an in-process client, the real
server as a subprocess, and Debian's Chromium driven by Playwright.

A test that needs the browser FAILS when Chromium is missing in CI (``CI=true``) and is
skipped on a developer machine without it, like the Dovecot tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import cli
from servers import dovecot_required, free_port, wait_for_port

from inbox_agent.config.loader import load_config

PASSWORD = "correct horse battery staple"
# The same browser set-up as bench/screenshot_report.py (no sync, no updates, no QUIC).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
WEB_TEST_SETTINGS = {"secure_cookies": False, "throttle": "0s", "poll_interval": "0.5s"}


def add_staff(config: Path, name: str, role: str = "agent", password: str = PASSWORD) -> None:
    """What `inbox-agent staff add` does, in process (the CLI itself is tested once)."""
    from inbox_agent.entrypoints.bootstrap import staff_directory
    from inbox_agent.services.staff_auth import add_account

    add_account(staff_directory(load_config(config)), name, role, password)


def add_staff_cli(config: Path, name: str, role: str = "agent", password: str = PASSWORD) -> None:
    done = cli(config, "staff", "add", name, "--role", role, env={"INBOX_AGENT_STAFF_PASSWORD": password})
    assert done.returncode == 0, done.stdout + done.stderr


def app_client(config: Path, base_url: str = "http://127.0.0.1") -> Any:
    """A Starlette TestClient on the app as `inbox-agent web` builds it."""
    from starlette.testclient import TestClient

    from inbox_agent.entrypoints.web.app import create_app

    return TestClient(create_app(web_deps(load_config(config))), base_url=base_url, follow_redirects=False)


def web_deps(loaded: Any) -> Any:
    """The routes' dependencies as `inbox-agent web` builds them from a loaded config."""
    from inbox_agent.entrypoints.bootstrap import build_web
    from inbox_agent.entrypoints.web.app import WebDeps

    built = build_web(loaded)
    return WebDeps(
        loaded,
        built.reads,
        built.actions,
        built.directory,
        built.audit,
        built.clock,
        built.quarantine,
        built.outbox,
        built.unfiled,
        built.new_complaint,
    )


def signed_in_client(config: Path, name: str) -> Any:
    """A client signed in as ``name`` (the password of ``add_staff``)."""
    client = app_client(config)
    assert sign_in(client, name).status_code == 303
    return client


def audit_outcomes(data_dir: Path, event: str) -> list[tuple[str, str, str]]:
    """(user, entry, outcome) of every ``event`` line in the web audit log, in order."""
    lines = (data_dir / "web-audit.log").read_text().splitlines()
    entries = [entry for entry in map(json.loads, lines) if entry["event"] == event]
    return [(entry["user"], entry["entry"], entry["outcome"]) for entry in entries]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: Any, name: str, password: str = PASSWORD) -> Any:
    token = csrf_of(client.get("/signin").text)
    return client.post("/signin", data={"csrf": token, "name": name, "password": password})


@contextlib.contextmanager
def web_server(config: Path) -> Iterator[str]:
    """`inbox-agent web` as a real process on a free port; yields its base URL."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "inbox_agent", "--config", str(config), "web", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
        try:
            try:
                wait_for_port("127.0.0.1", port, 30, alive=process)
            except (RuntimeError, TimeoutError):
                log.seek(0)
                raise RuntimeError(log.read().decode(errors="replace")) from None
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if dovecot_required():
        pytest.fail("chromium is not installed (CI must install the Debian package `chromium`)")
    pytest.skip("chromium not installed (apt-get install chromium)")


@contextlib.contextmanager
def browser_page(profile: Path) -> Iterator[Any]:
    """A fresh headless Chromium page (Playwright driving the system Chromium)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if dovecot_required():
            pytest.fail("playwright is not installed (pip install -e '.[test]')")
        pytest.skip("playwright is not installed")
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=executable, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            yield page
        finally:
            browser.close()


def sign_in_browser(page: Any, base: str, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/signin")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
