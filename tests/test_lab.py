"""`make lab`: it installs what the course needs (no test tools) and serves the whole
repository, so the homework in exercises/ is one click away, with the first notebook open.

The command is read from the Makefile itself (`make -n`), then run as it is, with a free
port, a token and no browser added, so the test runs what a newcomer runs.
"""

import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .jupyter_server import QUIET, jupyter_env, running

ROOT = Path(__file__).resolve().parent.parent

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


@needs_make
def test_make_lab_serves_the_repository_with_the_first_notebook_open(tmp_path):
    venv = tmp_path / "venv"           # the stamps are taken as done: nothing is installed
    (cmd,) = dry_run("lab", f"VENV={venv}", f"BIN={Path(sys.executable).parent}",
                     "-o", f"{venv}/.installed-course", "-o", f"{venv}/.uv")
    with running(shlex.split(cmd) + QUIET, ROOT, jupyter_env(tmp_path / "jupyter"),
                 tmp_path / "jupyter.log") as lab:
        assert lab.get("/api/contents/exercises")[0] == 200                 # the homework
        assert lab.get("/api/contents/notebooks/00_start_here.ipynb")[0] == 200
        status, where, _ = lab.get("/")
        assert status in (301, 302), status
        assert urlsplit(where).path == "/lab/tree/notebooks/00_start_here.ipynb", where
