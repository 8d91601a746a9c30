# Strategies, pipelines and distributed tuning from R, each in a fresh Rscript process:
# logical devices must exist before the backend starts.

test_that("two simulated devices: the scope, a dataset and the errors that explain", {
  skip_without_python("strategies are TensorFlow's or JAX's")
  out <- run_rscript('
    library(kerascraft)
    simulate_devices(2)
    strategy <- auto_strategy()
    cat("replicas:", strategy$num_replicas_in_sync, "\\n")
    cat("reason:", strategy$reason, "\\n")
    build <- function() {
      m <- keras$Sequential(list(keras$Input(shape = list(4L)),
                                 keras$layers$Dense(8L, activation = "relu"),
                                 keras$layers$Dense(3L, activation = "softmax")))
      m$compile(optimizer = "adam", loss = "sparse_categorical_crossentropy")
      m
    }
    with(strategy$scope(), { model <- build() })
    check_strategy(model, strategy)
    x <- matrix(runif(400), 100)           # doubles, column-major
    y <- sample(0:2, 100, replace = TRUE)
    h <- model$fit(make_dataset(x, y, batch_size = global_batch_size(16, strategy)),
                   epochs = 2L, verbose = 0L)
    cat("epochs:", length(h$history$loss), "\\n")
    outside <- build()
    msg <- tryCatch(check_strategy(outside, strategy), error = function(e) conditionMessage(e))
    cat("outside:", grepl("created outside this strategy\'s scope", msg), "\\n")
    late <- tryCatch(simulate_devices(3), error = function(e) conditionMessage(e))
    cat("late:", grepl("restart the session", late), "\\n")
  ')
  expect_equal(out$status, 0L, info = out$output)
  expect_match(out$output, "replicas: 2")
  expect_match(out$output, "logical CPU devices (simulated)", fixed = TRUE)
  expect_match(out$output, "epochs: 2")
  expect_match(out$output, "outside: TRUE")
  expect_match(out$output, "late: TRUE")
})

test_that("a distributed search runs an R build function in every process", {
  skip_without_python("searches run in the core")
  dir <- tempfile("distributed")
  dir.create(dir)
  search_code <- sprintf('
    library(kerascraft)
    digits <- load_digits(seed = 0)
    build_model <- function(hp) {
      model <- keras$Sequential(list(keras$Input(shape = list(64L)),
        keras$layers$Dense(hp$Int("units", 16, 64, step = 16), activation = "relu"),
        keras$layers$Dense(10L, activation = "softmax")))
      model$compile(optimizer = hp$Choice("optimizer", c("rmsprop", "adam")),
                    loss = "sparse_categorical_crossentropy", metrics = list("accuracy"))
      model
    }
    t <- tuner("random", build_model, objective = "val_accuracy", max_trials = 3,
               directory = "%s", seed = 5, overwrite = FALSE)
  ', file.path(dir, "tuning"))
  script <- file.path(dir, "search.R")
  writeLines(c(search_code, "search(t, digits$x_train, digits$y_train,
    validation_data = list(digits$x_val, digits$y_val), epochs = 1)"), script)
  out <- run_rscript(paste0(sprintf('
    library(kerascraft)
    run <- search_distributed("%s", workers = 2, verbose = 0, timeout = 500)
    cat("chief:", run$chief_exit, "\\n")
  ', script), search_code, '
    res <- results(t)
    cat("trials:", nrow(res), "completed:", sum(res$status == "COMPLETED"), "\\n")
  '))
  expect_equal(out$status, 0L, info = out$output)
  expect_match(out$output, "chief: (0|stopped)")
  expect_match(out$output, "trials: 3 completed: 3")
  logs <- unlist(lapply(0:1, function(i) readLines(file.path(dir, "kerascraft_logs",
                                                               sprintf("tuner%d.log", i)))))
  expect_equal(sum(grepl("^\\[[0-9:, left]+\\] tuner[0-9]: trial [0-9]+: val_accuracy=", logs)), 3)
})
