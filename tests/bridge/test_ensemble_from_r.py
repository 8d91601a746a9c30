"""Ensembles from R: R matrices and vectors in, labels counted explicitly, data frames out."""

import json
import subprocess

import pytest
from rpy2.rinterface_lib.embedded import RRuntimeError

# two different members trained in R's session, plus an R function
MEMBERS = """
digits <- load_digits(seed = 0)
gbt <- fit_gradient_boosting(digits$x_train, digits$y_train, max_iter = 40)
sk <- reticulate::import("sklearn.linear_model")
logreg <- sk$LogisticRegression(max_iter = 2000L)$fit(digits$x_train, digits$y_train)
prior <- function(x) matrix(0.1, nrow(x), 10)  # an R function is a member too
members <- list(gbt = gbt, logreg = logreg, prior = prior)
pv <- predictions(members, digits$x_val)
pt <- predictions(members, digits$x_test)
"""


def test_fit_predict_weights_summary_evaluate_from_r(r, rdir):
    r(MEMBERS)
    assert r("is.matrix(pv$gbt) && all(dim(pv$gbt) == c(nrow(digits$x_val), 10))")[0]
    assert r("isTRUE(all.equal(pv$prior, prior(digits$x_val)))")[0]
    r("ens <- fit_ensemble(pv, digits$y_val, cv = 3)")
    w = r("weights(ens)")
    assert list(r("names(weights(ens))")) == ["gbt", "logreg", "prior"]
    assert abs(sum(w) - 1) < 1e-9 and min(w) >= 0
    assert r("weights(ens)[['prior']]")[0] < 0.05
    assert list(r("names(summary(ens))"))[:8] == ["model", "weight", "used", "val_score", "gain",
                                                  "support", "weight_without_top", "fragile"]
    assert r("'cross_fitted' %in% names(attr(summary(ens), 'scores'))")[0]
    r("tab <- evaluate_ensemble(ens, digits$y_test, pt)")
    assert list(r("tab$kind")) == ["ensemble", "mean", "single", "single", "single"]
    # the fitted ensemble beats the mean that the useless member drags down
    assert r("tab$log_loss[1] < tab$log_loss[2]")[0]
    prob = r("predict(ens, pt)")
    assert r("all(abs(rowSums(predict(ens, pt)) - 1) < 1e-5)")[0]
    assert len(prob) == 10 * r("nrow(digits$x_test)")[0]
    # 0-based labels in, 0-based classes out
    assert r("all(predict(ens, pt, type = 'class') %in% 0:9)")[0]
    assert r("mean(predict(ens, pt, type = 'class') == digits$y_test) > 0.9")[0]


def test_labels_are_counted_explicitly(r, rdir):
    r(MEMBERS)
    # 1-based: said, and classes come back 1-based
    r("msgs <- character(); e1 <- withCallingHandlers(fit_ensemble(pv, digits$y_val + 1), "
      "message = function(m) { msgs <<- c(msgs, conditionMessage(m)); invokeRestart('muffleMessage') })")
    assert "taken as 1-based" in r("msgs")[0]
    assert r("all(predict(e1, pt, type = 'class') == predict(fit_ensemble(pv, digits$y_val), pt, type = 'class') + 1)")[0]
    # a factor: its levels are the columns, classes come back as that factor
    r("lv <- paste0('digit', 0:9); f <- factor(lv[digits$y_val + 1], levels = lv)")
    r("ef <- suppressMessages(fit_ensemble(pv, f))")
    assert r("is.factor(predict(ef, pt, type = 'class'))")[0]
    assert list(r("colnames(predict(ef, pt))"))[:2] == ["digit0", "digit1"]
    assert r("evaluate_ensemble(ef, factor(lv[digits$y_test + 1], levels = lv), pt)$accuracy[1] > 0.9")[0]
    # labels 1..8 only: 0- or 1-based cannot be told, and the error says how to say it
    with pytest.raises(RRuntimeError, match="label_base = 0"):
        r("fit_ensemble(pv, pmin(pmax(digits$y_val, 1), 8))")
    assert r("length(weights(fit_ensemble(pv, pmin(pmax(digits$y_val, 1), 8), label_base = 0)))")[0] == 3
    # binary: a logical target and vector probabilities
    r("yb <- digits$y_val == 0; pb <- list(a = pv$gbt[, 1], b = pv$logreg[, 1])")
    r("eb <- fit_ensemble(pb, yb, metric = 'auc')")
    assert r("is.null(dim(predict(eb, pb))) && length(predict(eb, pb)) == length(yb)")[0]


def test_bad_input_and_save_load_from_r(r, rdir):
    r(MEMBERS)
    with pytest.raises(RRuntimeError, match="needs a name"):
        r("fit_ensemble(list(pv$gbt, pv$logreg), digits$y_val)")
    with pytest.raises(RRuntimeError, match="different numbers of rows"):
        r("fit_ensemble(list(a = pv$gbt, b = pv$logreg[-1, ]), digits$y_val)")
    with pytest.raises(RRuntimeError, match="model 'b' contain 1 NaN"):
        r("bad <- pv$logreg; bad[3, 2] <- NA; fit_ensemble(list(a = pv$gbt, b = bad), digits$y_val)")
    with pytest.raises(RRuntimeError, match="outside the class range"):
        r("fit_ensemble(list(a = pv$gbt, b = pv$logreg), c(digits$y_val[-1], 12))")
    r("ens <- fit_ensemble(pv, factor(digits$y_val)); save_ensemble(ens, file.path(tmp, 'e.json'))")
    r("back <- load_ensemble(file.path(tmp, 'e.json'))")
    assert r("identical(weights(back), weights(ens))")[0]
    assert r("identical(predict(back, pt, type = 'class'), predict(ens, pt, type = 'class'))")[0]
    saved = json.loads((rdir / "e.json").read_text())  # JSON, readable without R
    assert saved["meta"]["r_levels"] == [str(i) for i in range(10)]
    with pytest.raises(RRuntimeError, match="no ensemble file"):
        r("load_ensemble(file.path(tmp, 'missing.json'))")


def test_diversity_and_plots_in_r(tmp_path):
    # plots in Rscript: ggplot2's compiled dependencies abort R embedded by rpy2 (GIL)
    code = "library(kerascraft)\n" + MEMBERS + f"""
    ens <- fit_ensemble(pv, digits$y_val, cv = 3)
    d <- diversity(pv, digits$y_val)
    stopifnot(inherits(d, "kerascraft_diversity"), nrow(d) == 3)
    cat("gbt-logreg disagreement:", d$disagreement[1], "\n")
    b1 <- ggplot2::ggplot_build(plot(ens))
    b2 <- ggplot2::ggplot_build(plot(d))
    cat("bars:", nrow(b1$data[[1]]), "tiles:", nrow(b2$data[[1]]), "\n")
    png({str(tmp_path / "weights.png")!r}); print(plot(ens)); invisible(dev.off())
    """
    proc = subprocess.run(["Rscript", "-e", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "bars: 3 tiles: 9" in proc.stdout
    dis = float(proc.stdout.split("gbt-logreg disagreement:")[1].split()[0])
    assert 0 < dis < 0.2
    assert (tmp_path / "weights.png").stat().st_size > 1000
