"""plot(tuner) in R and the pre-made image hypermodels from R."""

import subprocess

import pytest
from rpy2.rinterface_lib.embedded import RRuntimeError

from test_tuning_from_r import BUILD_MODEL


def test_plot_of_a_tuner_in_r(tmp_path):
    # In Rscript, not in the embedded R: loading ggplot2's compiled dependencies in R
    # embedded by rpy2, after Python has run from R, aborts the process (GIL error).
    code = BUILD_MODEL + f"""
    t <- tuner("random", build_model, objective = "val_accuracy", max_trials = 3,
               directory = {str(tmp_path / "search")!r}, seed = 1)
    search(t, digits$x_train, digits$y_train,
           validation_data = list(digits$x_val, digits$y_val), epochs = 2, verbose = 0)
    p1 <- plot(t)
    p2 <- plot(t, "hyperparameters")
    b1 <- ggplot2::ggplot_build(p1)
    b2 <- ggplot2::ggplot_build(p2)
    stopifnot(inherits(p1, "ggplot"), inherits(p2, "ggplot"))
    cat("points:", nrow(b1$data[[1]]), "\n")
    cat("best line is cummax:", isTRUE(all.equal(b1$data[[2]]$y, cummax(results(t)$score))), "\n")
    cat("panels:", length(unique(b2$data[[1]]$PANEL)), "\n")
    png({str(tmp_path / "progress.png")!r}); print(p1); invisible(dev.off())
    """
    proc = subprocess.run(["Rscript", "-e", "library(kerascraft)\n" + code], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "points: 3" in proc.stdout
    assert "best line is cummax: TRUE" in proc.stdout
    assert "panels: 2" in proc.stdout
    assert (tmp_path / "progress.png").stat().st_size > 1000


def test_premade_xception_from_r_on_small_images(r, rdir):
    r("""
    set.seed(1)
    x <- array(runif(24 * 32 * 32 * 3), c(24, 32, 32, 3))
    y <- sample(0:2, 24, replace = TRUE)
    hm <- premade_hypermodel("xception", c(32, 32, 3), classes = 3)
    t <- tuner("random", hm, objective = "val_accuracy", max_trials = 1, directory = tmp,
               loss = "sparse_categorical_crossentropy")
    search(t, x, y, validation_data = list(x, y), epochs = 1, batch_size = 8, verbose = 0)
    res <- results(t)
    """)
    assert r("res$status")[0] == "COMPLETED"
    assert r("'conv2d_num_filters' %in% names(res) || ncol(res) > 8")[0]
    with pytest.raises(RRuntimeError, match="HyperResNet needs images of at least 32x32"):
        r('premade_hypermodel("resnet", c(8, 8, 1), classes = 10)')
