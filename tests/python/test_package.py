import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "inst" / "python")}


def run(*args, **kw):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=ENV,
                          timeout=kw.pop("timeout", 120), **kw)


def test_versions_agree():
    import kerascraft

    description = (ROOT / "DESCRIPTION").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    r_version = re.search(r"^Version: (\S+)", description, re.M).group(1)
    py_version = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert kerascraft.__version__ == r_version == py_version


def test_the_modules_checked_are_those_pyproject_installs():
    # python -m kerascraft check and R's python_ready() check kerascraft.REQUIRED_MODULES;
    # each is what one of pyproject.toml's dependencies installs, and each dependency is there
    import importlib.metadata
    import tomllib

    import kerascraft

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[; ]", d)[0].lower().replace("_", "-") for d in deps}
    provided = {m for m, dists in importlib.metadata.packages_distributions().items()
                if any(d.lower().replace("_", "-") in names for d in dists)}
    assert set(kerascraft.REQUIRED_MODULES) <= provided
    by_module = {d.lower().replace("_", "-") for m in kerascraft.REQUIRED_MODULES
                 for d in importlib.metadata.packages_distributions().get(m, [])}
    assert by_module == names


DEPRECATED = """
import warnings

def _old_api(module):
    namespace = {"__name__": module, "warnings": warnings}
    exec("def call():\\n    warnings.warn('an old API', DeprecationWarning)", namespace)
    namespace["call"]()

def test_in_kerascraft():
    _old_api("kerascraft.probe")

def test_in_a_library():
    _old_api("numpy.probe")
"""


def test_deprecations_show_and_those_of_kerascraft_fail(tmp_path):
    # the project's pytest settings: a DeprecationWarning that kerascraft's code causes
    # fails the test; one from a library only shows (the newest-releases job reads them)
    (tmp_path / "test_probe.py").write_text(DEPRECATED)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"),
                           "--rootdir", str(tmp_path), "-p", "no:cacheprovider",
                           str(tmp_path / "test_probe.py")],
                          capture_output=True, text=True, env=ENV, timeout=600)
    assert "1 failed, 1 passed, 1 warning" in proc.stdout, proc.stdout[-3000:]
    assert "FAILED" in proc.stdout and "test_in_kerascraft" in proc.stdout
    assert "DeprecationWarning: an old API" in proc.stdout


def test_import_starts_neither_keras_nor_tensorflow():
    proc = run("-c", "import sys, kerascraft; print(sorted(m for m in ('keras', 'tensorflow', 'keras_tuner') if m in sys.modules))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_cli_version_and_check():
    import kerascraft

    proc = run("-m", "kerascraft", "version")
    assert proc.returncode == 0 and proc.stdout.strip() == kerascraft.__version__
    proc = run("-m", "kerascraft", "check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^keras_tuner\s+1\.4\.8$", proc.stdout, re.M)


def test_cli_check_reports_a_missing_backend():
    proc = subprocess.run([sys.executable, "-m", "kerascraft", "check"], capture_output=True,
                          text=True, env={**ENV, "KERAS_BACKEND": "no_such_backend_module"})
    assert proc.returncode == 1
    assert re.search(r"^no_such_backend_module\s+MISSING", proc.stdout, re.M)
    assert re.search(r"^keras\s+FAILS TO IMPORT: .*no_such_backend_module", proc.stdout, re.M)


def test_every_pin_is_exact_and_says_why():
    names = [str(p.relative_to(ROOT)) for p in (ROOT / "inst" / "python").glob("requirements*.txt")]
    assert len(names) == 3, names  # today's set, the NumPy 1 set, the Keras stack they share
    for name in names + ["requirements-dev.txt"]:
        for line in (ROOT / name).read_text().splitlines():
            if not line.strip() or line.startswith("#") or line.startswith("-r"):
                continue
            spec, _, reason = line.partition("#")
            assert "==" in spec, f"{name}: {line!r} is not pinned exactly"
            assert len(reason.strip()) > 10, f"{name}: {line!r} gives no reason"


def test_python_demo_crafts_digits_and_writes_the_report(tmp_path):
    proc = run("-m", "kerascraft", "demo", "--directory", str(tmp_path / "demo"),
               "--max-trials", "3", "--top", "2", "--epochs", "20", cwd=tmp_path, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    clock = r"^\[\d+:\d\d\] "  # the time since the demo began
    assert len(re.findall(clock + r"trial \d/3: val_accuracy=", proc.stdout, re.M)) == 3
    assert len(re.findall(clock + r"retrained model \d/2: ", proc.stdout, re.M)) == 2
    found = re.search(r"test accuracy: ensemble ([0-9.]+), best single model \((\w+), chosen "
                      r"on validation\) ([0-9.]+)", proc.stdout)
    assert found, proc.stdout[-2000:]
    assert float(found.group(1)) > 0.9 and float(found.group(3)) > 0.9
    report = re.search(clock + r"report: (.+)$", proc.stdout, re.M).group(1)
    assert report == str(tmp_path / "demo" / "report.html")
    assert "<img " in open(report).read()


def test_pip_installed_core_imports_outside_the_checkout(tmp_path):
    # `make install` pip-installs the core into the environment running these tests
    proc = subprocess.run([sys.executable, "-c", "import kerascraft; print(kerascraft.__file__)"],
                          capture_output=True, text=True, cwd=tmp_path,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stderr
    assert "site-packages" in proc.stdout


def test_keras_runs_on_the_backend_asked_for():
    # `make test` runs this suite twice: on TensorFlow, and with KERAS_BACKEND=jax
    import keras

    assert keras.backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")
