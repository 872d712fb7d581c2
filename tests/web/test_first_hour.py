"""A newcomer's first hour, through the real Makefile: ``make demo``, then ``make run``.

The two commands share one local database, so the demo's links work on the site ``make run`` serves,
and that site is styled: its stylesheet and its script come through the running server.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from email import message_from_bytes, policy
from html.parser import HTMLParser
from pathlib import Path

import pytest

from digest.mailsink import free_port
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.slow]


def make(target: str, *, env: dict[str, str], extra: tuple[str, ...] = ()) -> list[str]:
    """The Makefile's own target, with this interpreter as the venv's (already installed: -o skips pip)."""
    return ["make", "--no-print-directory", "-o", ".venv/.installed-dev", f"PY={sys.executable}", *extra, target]


class Assets(HTMLParser):
    """The stylesheets and scripts a page loads, and the first form's hidden CSRF token."""

    def __init__(self) -> None:
        super().__init__()
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []
        self.csrf = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "link" and a.get("rel") == "stylesheet" and a.get("href"):
            self.stylesheets.append(a["href"] or "")
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"] or "")
        if tag == "input" and a.get("name") == "csrfmiddlewaretoken" and not self.csrf:
            self.csrf = a.get("value") or ""


def parse(html: str) -> Assets:
    assets = Assets()
    assets.feed(html)
    return assets


@pytest.fixture
def newcomer_env(tmp_path: Path) -> dict[str, str]:
    """A fresh clone's environment: nothing configured, the local database and mail under a new var/."""
    if not (REPO_ROOT / "Makefile").exists() or not shutil_which("make"):
        pytest.skip("needs make and the repository's Makefile")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "EMAIL_HOST", "EMAIL_PORT", "DEBUG", "PAPERBOY_SITE_URL"}
    }
    env["PAPERBOY_VAR_DIR"] = str(tmp_path / "var")
    return env


def shutil_which(name: str) -> str | None:
    import shutil

    return shutil.which(name)


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make run exited early with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"make run did not serve on port {port}")


def test_the_first_make_demo_says_it_is_installing_before_it_goes_quiet():
    # -n prints what make would run; -W pretends pyproject.toml changed, as on a fresh clone.
    planned = subprocess.run(
        ["make", "--no-print-directory", "-n", "-W", "pyproject.toml", "demo"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    install = planned.index("pip install")
    assert planned.rfind("Installing Paperboy and its dependencies", 0, install) != -1
    assert "about a minute" in planned
    assert planned.index("manage.py demo") > install


def test_make_demo_then_make_run_serves_a_styled_site_where_the_demo_links_work(newcomer_env, tmp_path):
    port = free_port()
    site = f"http://localhost:{port}"
    env = {**newcomer_env, "PAPERBOY_SITE_URL": site}

    demo = subprocess.run(make("demo", env=env), cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    out = demo.stdout
    # The summary and the paths come last, after a short look at one email (not the whole of it).
    assert out.index("A short look at the first email") < out.index("email(s) delivered to")
    assert out.index("email(s) delivered to") < out.index("See it on the website")
    glimpse = out[out.index("A short look") : out.index("email(s) delivered to")]
    assert len(glimpse.splitlines()) < 60
    assert "/feedback/" not in glimpse
    login_link = re.search(rf"({re.escape(site)}/accounts/login/\?next=/archive/)", out).group(1)
    email, password = re.search(r"log in as (\S+@\S+) with the password (\S+)", out).groups()
    # The demo subscriber we log in as has an email among the files the summary lists.
    files = [Path(path) for path in re.findall(r"^\s+(/\S+\.vm)$", out, re.MULTILINE)]
    assert (
        len(files) == 6
    )  # four keyword subscribers, Tess (trending papers, issue 19) and Lin (papers like her library, issue 17)
    messages = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]
    assert any(str(m["Subject"]).startswith("Trending today: ") for m in messages)
    message = next(m for m in messages if m["To"] == email)
    view_in_browser = re.search(rf"{re.escape(site)}/d/\S+/", message.get_body(("plain",)).get_content()).group(0)

    run = subprocess.Popen(
        make("run", env=env, extra=(f"PORT={port}",)),
        cwd=REPO_ROOT,
        env={**env, "EMAIL_PORT": str(free_port())},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: runserver's reloader child and the sink stop with it
    )
    try:
        wait_for_port(port, run)
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

        def get(url: str) -> tuple[int, str, str]:
            with opener.open(urllib.parse.urljoin(site, url), timeout=20) as response:
                return response.status, response.headers.get_content_type(), response.read().decode()

        # Log in from the demo's link, as the demo's subscriber, and land on their archive.
        _, _, login_page = get(login_link)
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": parse(login_page).csrf, "login": email, "password": password}
        ).encode()
        request = urllib.request.Request(login_link, data=body, headers={"Referer": login_link})
        with opener.open(request, timeout=20) as response:
            assert response.url.endswith("/archive/")
            archive = response.read().decode()
        assert str(message["Subject"]).split(" on ")[0] in archive  # "9 new papers ..." as emailed

        # The preferences page, with its stylesheet and its live-preview script, served by make run.
        status, _, preferences = get("/preferences/")
        assert status == 200
        assets = parse(preferences)
        assert assets.stylesheets and assets.scripts
        for href in assets.stylesheets:
            status, kind, css = get(href)
            assert (status, kind) == (200, "text/css")
            assert ".site-header" in css
        scripts = []
        for src in assets.scripts:
            status, kind, js = get(src)
            assert status == 200 and kind in {"text/javascript", "application/javascript"}
            scripts.append(js)
        assert any("data-preview-panel" in js for js in scripts)  # preferences.js (trending.js is the other)

        # A link inside the demo's email opens that very digest.
        status, _, digest_page = get(view_in_browser)
        assert status == 200
        assert message.get_body(("html",)).get_content().split("<title>")[1].split("</title>")[0] in digest_page
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{error.url}: {error.code}") from error
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        try:
            run.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=10)
