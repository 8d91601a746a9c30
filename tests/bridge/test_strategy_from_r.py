"""Strategies, pipelines and distributed tuning from R, each in a fresh Rscript process
(logical devices must exist before the backend starts)."""

import re

from rscript import rscript
from test_tuning_from_r import BUILD_MODEL


def test_two_devices_scope_and_dataset_from_r(tmp_path):
    out = rscript("""
    library(kerascraft)
    simulate_devices(2)
    strategy <- auto_strategy()
    cat("replicas:", strategy$num_replicas_in_sync, "\\n")
    cat("reason:", strategy$reason, "\\n")
    build <- function() {
      m <- keras$Sequential(list(keras$Input(shape = list(4L)), keras$layers$Dense(8L, activation = "relu"),
                                 keras$layers$Dense(3L, activation = "softmax")))
      m$compile(optimizer = "adam", loss = "sparse_categorical_crossentropy")
      m
    }
    with(strategy$scope(), { model <- build() })
    check_strategy(model, strategy)
    x <- matrix(runif(400), 100)           # doubles, column-major
    y <- sample(0:2, 100, replace = TRUE)
    h <- model$fit(make_dataset(x, y, batch_size = global_batch_size(16, strategy)), epochs = 2L, verbose = 0L)
    cat("epochs:", length(h$history$loss), "\\n")
    outside <- build()
    msg <- tryCatch(check_strategy(outside, strategy), error = function(e) conditionMessage(e))
    cat("outside:", grepl("created outside this strategy's scope", msg), "\\n")
    late <- tryCatch(simulate_devices(3), error = function(e) conditionMessage(e))
    cat("late:", grepl("restart the session", late), "\\n")
    """, tmp_path)
    assert "replicas: 2" in out and "logical CPU devices (simulated)" in out
    assert "epochs: 2" in out and "outside: TRUE" in out and "late: TRUE" in out


def test_distributed_search_of_an_r_build_function(tmp_path):
    script = tmp_path / "search.R"
    script.write_text("library(kerascraft)\n" + BUILD_MODEL + f"""
    t <- tuner("random", build_model, objective = "val_accuracy", max_trials = 3,
               directory = {str(tmp_path / "tuning")!r}, seed = 5, overwrite = FALSE)
    search(t, digits$x_train, digits$y_train,
           validation_data = list(digits$x_val, digits$y_val), epochs = 1)
    """)
    out = rscript(f"""
    library(kerascraft)
    run <- search_distributed({str(script)!r}, workers = 2, verbose = 0, timeout = 500)
    cat("chief:", run$chief_exit, "\\n")
    """ + BUILD_MODEL + f"""
    t <- tuner("random", build_model, objective = "val_accuracy", max_trials = 3,
               directory = {str(tmp_path / "tuning")!r}, seed = 5, overwrite = FALSE)
    res <- results(t)
    cat("trials:", nrow(res), "completed:", sum(res$status == "COMPLETED"), "\\n")
    """, tmp_path)
    assert re.search(r"chief: (0|stopped)", out)
    assert "trials: 3 completed: 3" in out
    logs = "".join((tmp_path / "kerascraft_logs" / f"tuner{i}.log").read_text() for i in range(2))
    assert len(re.findall(r"^tuner\d: trial \d+: val_accuracy=", logs, re.M)) == 3
