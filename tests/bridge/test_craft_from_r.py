"""craft(), report() and craft_demo() from R, each in an Rscript process of its own
(scikit-learn's trees inside rpy2's embedded R can make later embedded tests abort)."""

from rscript import rscript_values

HEAD = """
library(kerascraft)
wine <- load_dataset("wine", split = FALSE)
x <- as.data.frame(wine$x)
y <- factor(c("barolo", "grignolino", "barbera")[wine$y + 1])
"""


def run_r(code, cwd):
    return rscript_values(HEAD + code, cwd)


def test_craft_from_r_with_a_factor_and_a_data_frame(tmp_path):
    out, stdout = run_r("""
    res <- craft(x, y, max_trials = 2, epochs = 10, top = 2, kind = "random",
                 directory = "wine")
    say("class", class(res))
    say("classes", res$classes)
    say("tables", c(nrow(res$trials), nrow(res$retrained), nrow(res$test_scores), nrow(res$gaps)))
    say("first row", res$test_scores$kind[1])
    say("weights sum", sum(res$weights$weight))
    say("precision", res$setup$precision)
    printed <- capture.output(print(res))
    say("printed", any(grepl("test accuracy: ensemble", printed)))
    p <- predict(res, x[1:4, ])
    say("prob", c(dim(p), colnames(p)))
    cls <- predict(res, x, type = "class")
    say("class levels", levels(cls))
    say("fit", mean(cls == y) > 0.9)
    path <- report(res, "out/report.html")
    html <- paste(readLines(path, warn = FALSE), collapse = "\\n")
    say("images", lengths(regmatches(html, gregexpr("<img ", html))))
    quiet <- capture.output(again <- craft(x, y, max_trials = 2, epochs = 10, top = 2,
                                          kind = "random", directory = "wine", verbose = 0))
    say("quiet", length(quiet))
    say("reused", "retrain" %in% again$timings$stage[again$timings$reused])
    """, tmp_path)
    assert out["class"] == "kerascraft_craft"
    assert out["classes"] == "barbera barolo grignolino"
    assert out["tables"].split() == ["2", "2", "5", "3"]  # 2 nets + trees; ensemble, mean
    assert out["first row"] == "ensemble"
    assert abs(float(out["weights sum"]) - 1) < 1e-9
    assert out["precision"] in ("float32", "mixed_bfloat16")
    assert out["printed"] == "TRUE"
    assert out["prob"].split() == ["4", "3", "barbera", "barolo", "grignolino"]
    assert out["class levels"] == "barbera barolo grignolino" and out["fit"] == "TRUE"
    assert out["images"] == "4"
    assert out["quiet"] == "0" and out["reused"] == "TRUE"
    # progress went to R's console: one line per trial with the best so far
    assert "trial 2/2: val_accuracy=" in stdout and "retrained model 2/2" in stdout


def test_craft_from_r_refuses_bad_input_before_training(tmp_path):
    out, _ = run_r("""
    say("text column", err(craft(cbind(x, colour = "red"), y, directory = "a")))
    say("lengths", err(craft(x, y[-1], directory = "b")))
    say("one class", err(craft(x, factor(rep("a", nrow(x))), directory = "c")))
    rare <- y; levels(rare) <- c(levels(rare), "rare"); rare[1:3] <- "rare"
    say("rare", err(craft(x, rare, directory = "d")))
    say("NA", err(craft(x, replace(y, 4, NA), directory = "e")))
    say("nothing written", !any(dir.exists(c("a", "b", "c", "d", "e"))))
    """, tmp_path)
    assert "non-numeric columns: colour" in out["text column"]
    assert "x has 178 samples but y has 177" in out["lengths"]
    assert "a single class" in out["one class"]
    assert "too few samples per class" in out["rare"] and "'rare' (3)" in out["rare"]
    assert "missing label" in out["NA"]
    assert out["nothing written"] == "TRUE"


def test_craft_demo_from_r_writes_its_report(tmp_path):
    out, stdout = run_r("""
    demo <- craft_demo(directory = "demo", max_trials = 2, epochs = 5, top = 1)
    say("report exists", file.exists(demo$report_path))
    say("accuracy", demo$test_scores$accuracy[1] > 0.85)
    """, tmp_path)
    assert out["report exists"] == "TRUE" and out["accuracy"] == "TRUE"
    assert "test accuracy: ensemble" in stdout and "report: " in stdout
