"""Offline stand-in for get-pip.py (mptcp.linux test harness).

ansible-test creates its virtual environments without pip and bootstraps pip
with get-pip.py, which it downloads from a host this CI cannot reach. It first
looks for a cached copy in ~/.ansible/test/cache/get_pip_<version>.py, and
tools/sanity puts this file there when none is cached.

Same interface as get-pip.py: the arguments are `pip install` arguments plus
get-pip's own --no-setuptools / --no-wheel. Instead of a pip embedded in the
script, it runs the pip wheel that ships with CPython (ensurepip) or with
Debian (python3-pip-whl), which then installs the requested pip from the
configured package index.
"""

import glob
import os
import shutil
import sys
import tempfile
import zipfile

GET_PIP_OFFLINE_STAND_IN = True  # tools/sanity looks for this marker


def find_pip_wheel():
    try:
        import ensurepip

        bundled = os.path.join(os.path.dirname(ensurepip.__file__), "_bundled")
    except ImportError:
        bundled = None
    for directory in (bundled, "/usr/share/python-wheels"):
        wheels = sorted(glob.glob(os.path.join(directory, "pip-*.whl"))) if directory else []
        if wheels:
            return wheels[-1]
    sys.exit("get-pip (offline stand-in): no pip wheel found (ensurepip's or Debian's python3-pip-whl)")


def main():
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    if "--no-setuptools" not in sys.argv[1:]:
        args.append("setuptools")
    if "--no-wheel" not in sys.argv[1:]:
        args.append("wheel")

    tmpdir = tempfile.mkdtemp(prefix="get-pip-offline-")
    try:
        with zipfile.ZipFile(find_pip_wheel()) as wheel:
            wheel.extractall(tmpdir)
        sys.path.insert(0, tmpdir)
        from pip._internal.cli.main import main as pip_main

        return pip_main(["install", "--upgrade", "--force-reinstall"] + args)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
