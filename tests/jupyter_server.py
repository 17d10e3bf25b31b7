"""A JupyterLab server for a test: started on a free port with a token and no browser, in
fresh Jupyter folders, waited for, and stopped afterwards (its kernels first)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SERVER_START = 120       # seconds: a busy CI machine starts JupyterLab slowly

# the network is closed: no news, no update checks
QUIET = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]


@dataclass
class Server:
    base: str            # http://127.0.0.1:PORT
    token: str
    log: object          # the server's output, a file open for reading

    def get(self, path: str, timeout: float = 5) -> tuple[int, str, bytes]:
        """(status, Location header, body) of a GET of ``path``; redirects are not followed."""
        req = urllib.request.Request(self.base + path, headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.build_opener(_NoRedirect).open(req, timeout=timeout) as r:
                return r.status, r.headers.get("Location", ""), r.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers.get("Location", ""), b""

    def json(self, path: str, timeout: float = 5):
        status, _, body = self.get(path, timeout)
        if status != 200:
            raise OSError(f"GET {path}: HTTP {status}")
        return json.loads(body or b"null")

    def tail(self) -> str:
        self.log.seek(0)
        return self.log.read()[-3000:]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def jupyter_env(folder: Path, **extra: str) -> dict[str, str]:
    """The environment with Jupyter's config, data, runtime and IPython folders under ``folder``."""
    return dict(os.environ, JUPYTER_CONFIG_DIR=str(folder / "config"),
                JUPYTER_RUNTIME_DIR=str(folder / "runtime"), JUPYTER_DATA_DIR=str(folder / "data"),
                IPYTHONDIR=str(folder / "ipython"), **extra)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(command: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> Iterator[Server]:
    """``command`` (a ``jupyter lab`` command line) run in ``cwd`` with a free port, a token and
    no browser added; yields once the server answers, raising AssertionError with the end of
    its log if it exits or does not answer within SERVER_START seconds."""
    port, token = _free_port(), secrets.token_hex(16)
    args = [*command, "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--ServerApp.token={token}"]
    log = log_path.open("w+")
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", token, log)
    try:
        deadline = time.monotonic() + SERVER_START
        while not _answers(server):
            assert proc.poll() is None, f"jupyter lab exited with {proc.returncode}:\n{server.tail()}"
            assert time.monotonic() < deadline, f"jupyter lab did not answer in {SERVER_START} s:\n" \
                                                f"{server.tail()}"
            time.sleep(0.25)
        yield server
    finally:
        _stop(server, proc)
        log.close()


def _answers(server: Server) -> bool:
    try:
        return server.get("/api/status", timeout=2)[0] == 200
    except OSError:
        return False


def _stop(server: Server, proc: subprocess.Popen) -> None:
    """Shut the kernels down through the API, then the server; kill only what is left."""
    try:
        for kernel in server.json("/api/kernels", timeout=10) or ():
            req = urllib.request.Request(f"{server.base}/api/kernels/{kernel['id']}", method="DELETE",
                                         headers={"Authorization": f"token {server.token}"})
            urllib.request.urlopen(req, timeout=10).close()
    except (OSError, ValueError):
        pass
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
