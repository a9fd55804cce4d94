"""fulfillbridge installs like software: the wheel `python -m build` makes carries everything
the program reads at run time (the GraphQL schema and operations, the migrations), and the
installed `fulfillbridge demo` runs the whole job from it.

How the wheel is proved to stand alone: it is built from a copy of the source tree (only
pyproject.toml, README.md and src/), then installed with `pip install --no-deps --no-index`
into a fresh virtual environment made with `python -m venv` (no system site-packages). The
third-party libraries come from this test environment: a `.pth` file in the fresh
environment's site-packages adds this environment's site-packages directory to the end of
`sys.path`. A directory named in a `.pth` file is only appended; the `.pth` files inside it
(among them the editable install's finder, which maps `fulfillbridge` to the source tree) are
not run, so `import fulfillbridge` can only find the installed wheel, which the test checks
(`fulfillbridge.__file__` lies under the fresh environment). The command runs from a
temporary directory, never the repository. The build itself fetches setuptools into its
isolated build environment from the package index, as any `python -m build` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.e2e.harness import REPO_ROOT

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(420)]


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_wheel_alone_runs_the_demo(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, source / name)
    shutil.copytree(
        REPO_ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(source)])
    [wheel] = dist.glob("fulfillbridge-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)])
    fresh_site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    (fresh_site / "test-environment-libraries.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )

    env = {k: v for k, v in os.environ.items() if not k.startswith(("FULFILLBRIDGE_", "PYTHON"))}
    env.update(COLUMNS="200", FULFILLBRIDGE_HOME=str(tmp_path / "home"))
    where = _run(
        [
            str(python),
            "-c",
            "import fulfillbridge, importlib.resources as r; "
            "print(fulfillbridge.__file__); "
            "m = r.files('fulfillbridge.store').joinpath('migrations'); "
            "print(sorted(p.name for p in m.joinpath('versions').iterdir() "
            "if p.name.endswith('.py'))[:1]); "
            "print(r.files('fulfillbridge.shopify').joinpath('schema').is_dir())",
        ],
        env=env,
        cwd=tmp_path,
    ).stdout.splitlines()
    assert Path(where[0]).resolve().is_relative_to(fresh_site.resolve()), where
    assert where[1] != "[]" and where[2] == "True", where

    demo = _run(
        [str(venv / "bin" / "fulfillbridge"), "demo", "--orders", "4"], env=env, cwd=tmp_path
    )
    assert "Traceback" not in demo.stdout + demo.stderr
    outcome = next(line for line in demo.stdout.splitlines() if line.startswith("outcome:"))
    assert "4 accepted" in outcome, demo.stdout

    # A wheel without its package data would be caught: the operations are really in it.
    listing = _run([str(python), "-m", "zipfile", "-l", str(wheel)]).stdout
    for needed in (
        "fulfillbridge/shopify/schema/admin-2026-07.graphql",
        "fulfillbridge/shopify/operations/FulfillmentCreate.graphql",
        "fulfillbridge/store/migrations/env.py",
        "fulfillbridge/store/migrations/script.py.mako",
        "fulfillbridge/py.typed",
    ):
        assert needed in listing, needed
