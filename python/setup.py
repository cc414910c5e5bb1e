"""``pip install --no-build-isolation ./python``: builds bdd's engine with the system's CMake from
the repository this folder belongs to, and installs the ``bdd`` and ``behaverse_data_downloader``
packages (README "Python").

The build tree is ``<repository>/build-python`` (kept, so a second install compiles only what
changed), or ``$BDD_CMAKE_BUILD_DIR``: an existing tree is built as configured (the test suite
points it at ``build/``, whose libraries are then reused).
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent.parent


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(bdd VERSION ([0-9.]+)", text).group(1)


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = Path(os.environ.get("BDD_CMAKE_BUILD_DIR") or ROOT / "build-python").absolute()
        cache = build_dir / "CMakeCache.txt"
        if not cache.exists():
            subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DBDD_PYTHON=ON",
                            "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_TESTING=OFF",
                            f"-DPython3_EXECUTABLE={sys.executable}"],
                           check=True, stdout=subprocess.DEVNULL)
        elif "BDD_PYTHON:BOOL=ON" not in cache.read_text():
            subprocess.run(["cmake", "-B", str(build_dir), "-DBDD_PYTHON=ON"], check=True,
                           stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "bdd_python",
                        "-j", str(os.cpu_count() or 1)], check=True)
        built = build_dir / "python" / "bdd" / ("_native" + sysconfig.get_config_var("EXT_SUFFIX"))
        if not built.is_file():
            sys.exit(f"{built} is missing: {build_dir} was configured for another Python; "
                     "remove it, or set BDD_CMAKE_BUILD_DIR to a new folder")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


setup(
    name="bdd",
    version=project_version(),
    description="Behaverse Data Downloader: bdd's engine for Python",
    packages=["bdd", "behaverse_data_downloader"],
    package_data={"bdd": ["py.typed", "_native.pyi"]},
    ext_modules=[CMakeExtension("bdd._native")],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    zip_safe=False,
)
