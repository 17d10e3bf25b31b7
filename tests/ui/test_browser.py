"""The course in a real browser: JupyterLab in headless Chromium, driven by playwright.

One test, end to end, as a student uses it: a JupyterLab server (started here, on a
free port with a random token, in a temporary copy of ``tests/ui/ui_demo.ipynb``),
Debian's Chromium (``apt-get install chromium``; playwright's own browser download is
never used), Run → Run All Cells from the menu, then

* the ladder stepper: Play reveals the segments one by one (caption ``k / 6`` and a
  different ladder picture: the shown ``<img>`` changes, its PNG bytes differ), and the
  step box moves every linked part back to another frame — all in the browser;
* the answer form: a right answer (``1000 + 1``, arithmetic) and a wrong one, Check,
  and ✅ / ❌ appear with the misconception's text, computed by the kernel.

Screenshots go to ``tests/ui/artifacts/`` (gitignored): ``ui_demo.png`` at the end,
``ui_demo-failure.png`` if something went wrong.  Skips, saying why, without
Chromium or playwright (the ``ui`` extra); ``.ci/run`` installs Chromium and, seeing
it, ``make`` installs the ``ui`` extra, so CI runs it.  About 15-25 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pytest

from ..jupyter_server import QUIET, jupyter_env, running

pytestmark = pytest.mark.ui
sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="needs Chromium (apt-get install chromium) and playwright, the `ui` extra "
           "(pip install -e '.[ui]'), which `make` installs only where Chromium is")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NOTEBOOK = HERE / "ui_demo.ipynb"
ARTIFACTS = HERE / "artifacts"
CHROMIUM = os.environ.get("TCPEDU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--disable-default-apps", "--disable-extensions",
    "--no-default-browser-check", "--metrics-recording-only", "--mute-audio",
]
TIMEOUT = 30_000        # ms: any single wait in the page


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium (never a browser downloaded by playwright)."""
    path = CHROMIUM if os.path.isfile(CHROMIUM) else shutil.which("chromium")
    if not path:
        pytest.skip(f"no Chromium at {CHROMIUM} or on PATH (apt-get install chromium, "
                    "or set TCPEDU_CHROMIUM; .ci/run installs it)")
    return path


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server over a temporary copy of the UI notebook; stopped afterwards."""
    work = tmp_path / "nb"
    work.mkdir()
    shutil.copy(NOTEBOOK, work / NOTEBOOK.name)
    jupyter = tmp_path / "jupyter"
    env = jupyter_env(jupyter, MPLBACKEND="Agg",
                      PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                      PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    cmd = [sys.executable, "-m", "jupyter", "lab", "--allow-root", f"--notebook-dir={work}",
           f"--LabApp.workspaces_dir={jupyter / 'workspaces'}",
           f"--LabApp.user_settings_dir={jupyter / 'settings'}",
           *QUIET, "--LabApp.extension_manager=readonly"]     # no PyPI extension manager either
    # no "get notified about Jupyter news?" toast over the page
    news = jupyter / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false"}))
    with running(cmd, work, env, tmp_path / "jupyter.log") as server:
        yield {"base": server.base, "token": server.token, "dir": work, "server": server}


def _kernel_idle(lab, timeout: float = 30) -> None:
    """Wait until the notebook's kernel exists and reports idle (asked of the server's API)."""
    deadline, kernels = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            kernels = lab["server"].json("/api/kernels", timeout=10)
        except OSError as exc:          # a busy server (2 cores, xdist): ask again
            kernels = f"{type(exc).__name__}: {exc}"
        else:
            if kernels and all(k["execution_state"] == "idle" for k in kernels):
                return
        time.sleep(0.2)
    pytest.fail(f"the kernel is not idle after {timeout} s: {kernels}")


def _png_digest(page, img) -> str:
    """The bytes behind an <img> (a blob: URL made by the Image widget), as a SHA-256."""
    return page.evaluate(
        """async (el) => {
            const buf = await (await fetch(el.src)).arrayBuffer();
            const hash = await crypto.subtle.digest('SHA-256', buf);
            return Array.from(new Uint8Array(hash)).map(b => b.toString(16).padStart(2, '0')).join('');
        }""", img.element_handle())


def test_stepper_plays_and_form_checks_in_jupyterlab(chromium, lab):
    expect = sync_api.expect
    expect.set_options(timeout=TIMEOUT)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "ui_demo-failure.png").unlink(missing_ok=True)
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(lab["dir"].parent / "chromium-profile"), executable_path=chromium, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1800})
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(TIMEOUT)
        try:
            page.goto(f"{lab['base']}/lab/tree/{NOTEBOOK.name}?token={lab['token']}")
            panel = page.locator(".jp-NotebookPanel")
            expect(panel).to_be_visible()
            expect(panel.locator(".jp-Cell")).to_have_count(3)
            _kernel_idle(lab)

            # Run → Run All Cells, from the menu bar, as a student would
            page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-content .lm-Menu-itemLabel",
                         has_text=re.compile(r"^Run All Cells$")).click()
            stepper = panel.locator(".jp-OutputArea-output", has=page.locator(".widget-play"))
            form = panel.locator(".tcpedu-form")
            expect(stepper).to_be_visible()
            expect(form).to_be_visible()
            expect(panel.locator(".jp-CodeCell .jp-InputArea-prompt")).to_have_text(["[1]:", "[2]:"])
            _kernel_idle(lab)
            # JupyterLab shows tracebacks and warnings alike as stderr outputs: none expected
            stderr = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            assert stderr.count() == 0, stderr.all_inner_texts()

            # the stepper: frame 0, Play, later frames, then the step box back to frame 3
            caption = stepper.locator(".widget-html", has_text=re.compile(r"\d / 6"))
            ladder = stepper.locator("img").first
            expect(caption).to_contain_text("0 / 6")
            expect(caption).to_contain_text("before the first segment")
            src0, png0 = ladder.get_attribute("src"), _png_digest(page, ladder)
            stepper.locator(".widget-play button").first.click()
            expect(caption).to_contain_text(re.compile(r"\b[1-6] / 6"))
            expect(caption).to_contain_text("6 / 6")             # played to the end
            expect(caption).to_contain_text("client → server")   # the last ACK
            # Play stops one interval after the last frame (its icon turns back to "play"):
            # a step typed before that would be played on from, 3 → 4 → 5 → 6
            expect(stepper.locator(".widget-play i.fa-play")).to_have_count(1)
            src6, png6 = ladder.get_attribute("src"), _png_digest(page, ladder)
            assert src6 != src0 and png6 != png0, "Play did not change the ladder picture"
            step = stepper.locator(".widget-text input")
            expect(step).to_have_value("6")
            expect(stepper.locator(".widget-readout")).to_have_text("6")
            step.fill("3")
            step.press("Enter")
            step.press("Tab")
            expect(caption).to_contain_text("3 / 6")
            expect(stepper.locator(".widget-readout")).to_have_text("3")
            png3 = _png_digest(page, ladder)
            assert png3 not in (png0, png6), "the step box did not switch the ladder frame"

            # the form: a right answer (arithmetic) and a wrong one, then Check
            def box(qid):
                label = page.locator("label", has_text=re.compile(f"^{qid}$"))
                return form.locator(".widget-text", has=label).locator("input")

            box("ack_2").fill("1000 + 1")
            box("ack_3").fill("5000")
            form.get_by_role("button", name="Check").click()
            feedback = form.locator(".tcpedu-feedback")
            expect(feedback).to_be_visible()
            expect(feedback.locator("li", has_text="ack_2")).to_contain_text("✅")
            wrong = feedback.locator("li", has_text="ack_3")
            expect(wrong).to_contain_text("❌")
            expect(wrong).to_contain_text("SYN and FIN each take one sequence number")
            expect(form).to_contain_text("1/2 right")
            form.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "ui_demo.png"))
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "ui_demo-failure.png"))
            print("jupyter lab log:\n" + lab["server"].tail())
            raise
        finally:
            context.close()
