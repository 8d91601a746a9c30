"""The README's quick starts run as written, the way a new user runs them."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: the head of a progress line: the time used, and with a time limit the time left
CLOCK = r"^\[\d+:\d\d(?:, \d+:\d\d left)?\] "


def _blocks(language):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)
    assert blocks, f"README.md has no {language} example"
    return "\n".join(blocks)


def test_readme_r_example_runs_with_rscript(tmp_path):
    proc = subprocess.run(["Rscript", "-e", _blocks("r")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert len(re.findall(CLOCK + r"trial \d/3: val_accuracy=", proc.stdout, re.M)) == 3
    # two from retrain_best() (no time limit: its clock says no time left), and from each
    # craft() (airquality, wine: time_limit) what its time allowed
    assert len(re.findall(r"^\[\d+:\d\d\] retrained model \d/2: best epoch \d+", proc.stdout,
                          re.M)) == 2
    assert len(re.findall(r"^\[\d+:\d\d, \d+:\d\d left\] retrained model \d/\d: best "
                          r"epoch \d+", proc.stdout, re.M)) >= 2
    assert "test_retrained" in proc.stdout
    assert re.search(r"^Ensemble of \d of 3 models \(greedy", proc.stdout, re.M)
    assert re.search(r"^1 ensemble \(greedy\) ensemble", proc.stdout, re.M)
    assert (tmp_path / "kerascraft_tuning" / "auto").is_dir()
    # the one-call workflow: a table as it comes (airquality: regression), then wine
    assert "data: 37 row(s) without a value of Ozone left out" in proc.stdout
    assert re.search(CLOCK + r"columns: 5 numbers \(Solar\.R, Wind, Temp, Month, Day\)",
                     proc.stdout, re.M)
    assert "<img " in (tmp_path / "air_report.html").read_text()
    # within time_limit (60 s each): the search said when it stopped, and why
    assert len(re.findall(CLOCK + r"trial \d+/10: val_(?:loss|accuracy)=", proc.stdout,
                          re.M)) >= 2
    assert len(re.findall(r"of time_limit=60 s", proc.stdout)) == 2
    _assert_learnt_wine(proc.stdout)
    # head(predict(..., type = "class")): the first six wines are barolos
    first = re.search(r"^\[1\] ((?:\w+ ?){6})$", proc.stdout, re.M).group(1).split()
    assert first.count("barolo") >= 5, first


def test_readme_python_example_runs(tmp_path):
    proc = subprocess.run([sys.executable, "-c", _blocks("python")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=1800,
                          env={"PYTHONPATH": str(ROOT / "inst" / "python"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(re.findall(CLOCK + r"trial \d/3: val_accuracy=", proc.stdout, re.M)) == 3
    assert "test_retrained" in proc.stdout
    assert re.search(r"^0\s+ensemble \(greedy\)\s+ensemble", proc.stdout, re.M)
    accuracy = float(re.findall(r"\[[0-9.e-]+, ([0-9.]+)\]", proc.stdout)[-1])
    assert accuracy > 0.85
    # craft() on a data frame with a category and missing values, the target named
    assert re.search(CLOCK + r"columns: 12 numbers .*, 1 ordered category \(hue\)",
                     proc.stdout, re.M)
    assert "of time_limit=60 s" in proc.stdout
    _assert_learnt_wine(proc.stdout)
    assert "<img " in (tmp_path / "wine_report.html").read_text()


def _assert_learnt_wine(stdout):
    """craft()'s summary line: the ensemble learnt wine (its largest class is 40%)."""
    found = re.search(r"test accuracy: ensemble ([01]\.\d+), best single model", stdout)
    assert found and float(found.group(1)) > 0.85, stdout[-2000:]
