"""Ensembles from R: R matrices and vectors in, labels counted explicitly, data frames out.

Each test runs in an Rscript process of its own: after scikit-learn has run inside R
embedded by rpy2, later embedded tests can abort on a GIL error (tests/bridge/rsession.py)."""

import json

from rscript import rscript_values

# two different members trained in R's session, plus an R function
MEMBERS = """
library(kerascraft)
digits <- load_digits(seed = 0)
gbt <- fit_gradient_boosting(digits$x_train, digits$y_train, max_iter = 40)
sk <- reticulate::import("sklearn.linear_model")
logreg <- sk$LogisticRegression(max_iter = 2000L)$fit(digits$x_train, digits$y_train)
prior <- function(x) matrix(0.1, nrow(x), 10)  # an R function is a member too
members <- list(gbt = gbt, logreg = logreg, prior = prior)
pv <- predictions(members, digits$x_val)
pt <- predictions(members, digits$x_test)
"""


def run_r(code, cwd):
    return rscript_values(MEMBERS + code, cwd)


def test_fit_predict_weights_summary_evaluate_from_r(tmp_path):
    out, _ = run_r("""
    say("member shape", all(dim(pv$gbt) == c(nrow(digits$x_val), 10)) && is.matrix(pv$gbt))
    say("R member", isTRUE(all.equal(pv$prior, prior(digits$x_val))))
    ens <- fit_ensemble(pv, digits$y_val, cv = 3)
    say("names", names(weights(ens)))
    say("sum", sum(weights(ens)))
    say("nonneg", all(weights(ens) >= 0))
    say("prior weight small", weights(ens)[["prior"]] < 0.05)
    say("summary columns", names(summary(ens))[1:8])
    say("cross-fitted", "cross_fitted" %in% names(attr(summary(ens), "scores")))
    tab <- evaluate_ensemble(ens, digits$y_test, pt)
    say("kinds", tab$kind)
    say("beats mean", tab$log_loss[1] < tab$log_loss[2])
    say("rows sum to 1", all(abs(rowSums(predict(ens, pt)) - 1) < 1e-5))
    say("classes 0-based", all(predict(ens, pt, type = "class") %in% 0:9))
    say("accuracy", mean(predict(ens, pt, type = "class") == digits$y_test) > 0.9)
    """, tmp_path)
    assert out["member shape"] == "TRUE" and out["R member"] == "TRUE"
    assert out["names"] == "gbt logreg prior"
    assert abs(float(out["sum"]) - 1) < 1e-9 and out["nonneg"] == "TRUE"
    assert out["prior weight small"] == "TRUE"
    assert out["summary columns"].split() == ["model", "weight", "used", "val_score", "gain",
                                              "support", "weight_without_top", "fragile"]
    assert out["cross-fitted"] == "TRUE"
    assert out["kinds"].split() == ["ensemble", "mean", "single", "single", "single"]
    assert out["beats mean"] == "TRUE" and out["rows sum to 1"] == "TRUE"
    assert out["classes 0-based"] == "TRUE" and out["accuracy"] == "TRUE"


def test_labels_are_counted_explicitly(tmp_path):
    out, _ = run_r("""
    msgs <- character()
    e1 <- withCallingHandlers(fit_ensemble(pv, digits$y_val + 1), message = function(m) {
      msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage") })
    say("1-based said", any(grepl("taken as 1-based", msgs)))
    e0 <- fit_ensemble(pv, digits$y_val)
    say("1-based classes", all(predict(e1, pt, type = "class") == predict(e0, pt, type = "class") + 1))
    lv <- paste0("digit", 0:9)
    ef <- suppressMessages(fit_ensemble(pv, factor(lv[digits$y_val + 1], levels = lv)))
    say("factor classes", is.factor(predict(ef, pt, type = "class")))
    say("factor columns", colnames(predict(ef, pt))[1:2])
    say("factor accuracy", evaluate_ensemble(ef, factor(lv[digits$y_test + 1], levels = lv), pt)$accuracy[1] > 0.9)
    say("ambiguous", err(fit_ensemble(pv, pmin(pmax(digits$y_val, 1), 8))))
    say("label_base", length(weights(fit_ensemble(pv, pmin(pmax(digits$y_val, 1), 8), label_base = 0))))
    yb <- digits$y_val == 0
    pb <- list(a = pv$gbt[, 1], b = pv$logreg[, 1])
    eb <- fit_ensemble(pb, yb, metric = "auc")
    say("binary vector", is.null(dim(predict(eb, pb))) && length(predict(eb, pb)) == length(yb))
    """, tmp_path)
    assert out["1-based said"] == "TRUE" and out["1-based classes"] == "TRUE"
    assert out["factor classes"] == "TRUE" and out["factor columns"] == "digit0 digit1"
    assert out["factor accuracy"] == "TRUE"
    assert "label_base = 0" in out["ambiguous"] and out["label_base"] == "3"
    assert out["binary vector"] == "TRUE"


def test_bad_input_and_save_load_from_r(tmp_path):
    out, _ = run_r(f"""
    say("unnamed", err(fit_ensemble(list(pv$gbt, pv$logreg), digits$y_val)))
    say("rows", err(fit_ensemble(list(a = pv$gbt, b = pv$logreg[-1, ]), digits$y_val)))
    bad <- pv$logreg; bad[3, 2] <- NA
    say("na", err(fit_ensemble(list(a = pv$gbt, b = bad), digits$y_val)))
    say("range", err(fit_ensemble(list(a = pv$gbt, b = pv$logreg), c(digits$y_val[-1], 12))))
    ens <- fit_ensemble(pv, factor(digits$y_val))
    path <- {str(tmp_path / "e.json")!r}
    save_ensemble(ens, path)
    back <- load_ensemble(path)
    say("weights back", identical(weights(back), weights(ens)))
    say("classes back", identical(predict(back, pt, type = "class"), predict(ens, pt, type = "class")))
    say("missing", err(load_ensemble(file.path(dirname(path), "missing.json"))))
    """, tmp_path)
    assert "needs a name" in out["unnamed"]
    assert "different numbers of rows" in out["rows"]
    assert "model 'b' contain 1 NaN" in out["na"]
    assert "outside the class range" in out["range"]
    assert out["weights back"] == "TRUE" and out["classes back"] == "TRUE"
    assert "no ensemble file" in out["missing"]
    saved = json.loads((tmp_path / "e.json").read_text())  # JSON, readable without R
    assert saved["meta"]["r_levels"] == [str(i) for i in range(10)]


def test_diversity_and_plots_in_r(tmp_path):
    out, _ = run_r(f"""
    ens <- fit_ensemble(pv, digits$y_val, cv = 3)
    d <- diversity(pv, digits$y_val)
    stopifnot(inherits(d, "kerascraft_diversity"), nrow(d) == 3)
    say("gbt-logreg disagreement", d$disagreement[1])
    b1 <- ggplot2::ggplot_build(plot(ens))
    b2 <- ggplot2::ggplot_build(plot(d))
    say("bars", nrow(b1$data[[1]]))
    say("tiles", nrow(b2$data[[1]]))
    png({str(tmp_path / "weights.png")!r}); print(plot(ens)); invisible(dev.off())
    """, tmp_path)
    assert out["bars"] == "3" and out["tiles"] == "9"
    assert 0 < float(out["gbt-logreg disagreement"]) < 0.2
    assert (tmp_path / "weights.png").stat().st_size > 1000
