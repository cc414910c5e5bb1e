"""README's install command, `pip install --no-build-isolation ./python`, into a venv with the
system's site packages: both packages then import from any directory and download through the
installed module. The build reuses the test build's tree (BDD_CMAKE_BUILD_DIR), so nothing is
compiled again."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import Workspace

SOURCE = Path(__file__).resolve().parents[1]

CHECK = textwrap.dedent("""
    import sys, bdd, behaverse_data_downloader.manager
    print(bdd.__file__)
    print(bdd._native.__file__)
    print(bdd.Study(sys.argv[1], workdir=sys.argv[2]).download().events_added)
    print(bdd.Study.__doc__.splitlines()[0])
""")


def test_pip_install_into_a_venv(tmp_path, api):
    venv = tmp_path / "V"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    python = str(venv / "bin" / "python")
    (tmp_path / "work").mkdir()
    ws = Workspace(tmp_path / "work", api)
    api.append(ws.study, 7)
    env = dict(os.environ, BDD_CMAKE_BUILD_DIR=os.environ["BDD_BUILD_DIR"])
    env.pop("PYTHONPATH")
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-build-isolation", "-q",
                              str(SOURCE)], env=env, capture_output=True, text=True)
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run([python, "-c", CHECK, ws.study, str(ws.dir)], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    lines = check.stdout.splitlines()
    assert lines[0].startswith(str(venv / "lib")) and lines[1].startswith(str(venv / "lib"))
    assert lines[2:] == ["7", "One study, configured under ``workdir`` exactly as for "
                              "``bdd -C <workdir> ...``: its"]
