"""The vignettes build with knitr and their code runs (documentation that runs)."""

import re
import subprocess
from pathlib import Path

import pytest

VIGNETTES = Path(__file__).resolve().parents[2] / "vignettes"


@pytest.mark.parametrize("name", sorted(p.stem for p in VIGNETTES.glob("*.Rmd")))
def test_vignette_builds(name, tmp_path):
    # knit a copy, so that no output lands in the checkout (with the figures it includes)
    src = tmp_path / f"{name}.Rmd"
    src.write_text((VIGNETTES / f"{name}.Rmd").read_text())
    for figure in VIGNETTES.glob("*.png"):
        (tmp_path / figure.name).write_bytes(figure.read_bytes())
    code = f"rmarkdown::render({str(src)!r}, quiet = TRUE, envir = new.env())"
    proc = subprocess.run(["Rscript", "-e", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (tmp_path / f"{name}.html").read_text()
    assert "was built without kerascraft's Python environment" not in html
    # knitr shows an R error in a chunk as "## Error" / "#> Error" when error = TRUE leaks
    assert not re.search(r"#&gt; Error|## Error", html)
    # knitted alone (a fresh session), the scaling vignette does split the CPU
    assert "it ran on one device" not in html
