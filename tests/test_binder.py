"""Binder: the README's badge opens JupyterLab on the first notebook, and the build files
hold what Binder needs.  (tests/test_project.py checks that environment.yml lists
pyproject's runtime dependencies.)"""

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BADGE = re.compile(r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]\((?P<url>[^)\s]+)\)")


def _lines(name: str) -> list[str]:
    """The file's lines, stripped, without blanks and comments."""
    text = (ROOT / name).read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def test_badge_opens_jupyterlab_on_the_first_notebook():
    badges = BADGE.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(badges) == 1, f"expected one Binder badge in README.md, found {badges}"
    url = urlsplit(badges[0])
    assert (url.scheme, url.netloc) == ("https", "mybinder.org")
    assert re.fullmatch(r"/v2/gh/[\w.-]+/[\w.-]+/[\w./-]+", url.path), url.path
    (urlpath,) = parse_qs(url.query)["urlpath"]
    assert urlpath.startswith("lab/tree/"), f"{urlpath!r} does not open JupyterLab"
    notebook = urlpath.removeprefix("lab/tree/")
    assert (ROOT / notebook).is_file(), f"the badge opens {notebook}, which does not exist"
    first = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*.ipynb"))[0]
    assert notebook == first == "notebooks/00_start_here.ipynb"


def test_environment_pins_python_3_11():
    deps = [ln[2:].strip() for ln in _lines("environment.yml") if ln.startswith("- ")]
    pythons = [d for d in deps if re.match(r"python\b", d)]
    assert pythons == ["python=3.11"], pythons


def test_postbuild_stops_on_error_and_installs_tcpedu_without_deps():
    post = ROOT / "postBuild"
    lines = _lines("postBuild")
    assert os.access(post, os.X_OK), "postBuild must be executable"
    assert post.read_text(encoding="utf-8").startswith("#!"), "postBuild needs a #! line"
    assert "set -e" in lines
    assert "python -m pip install --no-deps -e ." in lines
    assert lines.index("set -e") < lines.index("python -m pip install --no-deps -e .")


def test_apt_txt_lists_the_cjk_font():
    assert "fonts-noto-cjk" in _lines("apt.txt")
