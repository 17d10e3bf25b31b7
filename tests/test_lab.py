"""`make lab`: it installs what the course needs (no test tools) and serves the whole
repository, so the homework in exercises/ is one click away, with the first notebook open.

The command is read from the Makefile itself (`make -n`), then run as it is, with a free
port, a token and no browser added, so the test runs what a newcomer runs.
"""

import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVER_START = 120          # seconds: a busy CI machine starts JupyterLab slowly

make = shutil.which("make")
needs_make = pytest.mark.skipif(make is None, reason="make is not installed (apt-get install make)")


def dry_run(*args: str) -> list[str]:
    """The commands `make -n ...` would run, one per line (continuations joined)."""
    out = subprocess.run([make, "-n", "--no-print-directory", *args], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [line for line in out.replace("\\\n", " ").splitlines() if line.strip()]


@needs_make
def test_make_lab_installs_the_course_not_the_test_tools(tmp_path):
    venv = tmp_path / "venv"
    commands = dry_run("lab", f"VENV={venv}")
    installs = [c for c in commands if " -e " in c]
    assert len(installs) == 1, commands
    assert "-e ." in installs[0] and ".[" not in installs[0], installs[0]   # no test or ui extra
    assert commands[-1].split()[0] == f"{venv}/bin/jupyter", commands


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str, token: str) -> tuple[int, str]:
    """(status, Location header) of a GET that does not follow redirects."""
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.build_opener(_NoRedirect).open(req, timeout=5) as r:
            return r.status, r.headers.get("Location", "")
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Location", "")


@needs_make
def test_make_lab_serves_the_repository_with_the_first_notebook_open(tmp_path):
    venv = tmp_path / "venv"           # the stamp is taken as done: nothing is installed
    (cmd,) = dry_run("lab", f"VENV={venv}", f"BIN={Path(sys.executable).parent}",
                     "-o", f"{venv}/.installed-course", "-o", f"{venv}/.uv")
    port, token = _free_port(), secrets.token_hex(16)
    jupyter = tmp_path / "jupyter"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(jupyter / "config"),
               JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"), JUPYTER_DATA_DIR=str(jupyter / "data"))
    args = shlex.split(cmd) + ["--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                               "--ServerApp.port_retries=0", f"--ServerApp.token={token}",
                               "--LabApp.news_url=None",
                               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = (tmp_path / "jupyter.log").open("w+")
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START
        while _status(base, token) != 200:
            log.seek(0)
            assert proc.poll() is None, f"jupyter lab exited:\n{log.read()[-3000:]}"
            assert time.monotonic() < deadline, f"no answer in {SERVER_START} s:\n{log.read()[-3000:]}"
            time.sleep(0.25)
        assert _get(f"{base}/api/contents/exercises", token)[0] == 200       # the homework
        assert _get(f"{base}/api/contents/notebooks/00_start_here.ipynb", token)[0] == 200
        status, where = _get(f"{base}/", token)
        assert status in (301, 302), status
        assert urlsplit(where).path == "/lab/tree/notebooks/00_start_here.ipynb", where
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _status(base: str, token: str) -> int | None:
    try:
        return _get(f"{base}/api/status", token)[0]
    except OSError:
        return None
