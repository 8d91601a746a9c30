test_that("R workers share a search through a journal file, and a worker joins it later", {
  skip_without_python("searches run in the core")
  dir <- tempfile("shared")
  dir.create(dir)
  journal <- file.path(dir, "search.journal")
  search_code <- function(max_trials) sprintf('
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
    t <- tuner("tpe", build_model, objective = "val_accuracy", max_trials = %d,
               directory = "%s", project_name = "shared", seed = 5)
  ', max_trials, file.path(dir, "tuning"))
  fit <- "search(t, digits$x_train, digits$y_train,
    validation_data = list(digits$x_val, digits$y_val), epochs = 1)"
  script <- file.path(dir, "search.R")
  writeLines(c(search_code(3), fit), script)
  later <- file.path(dir, "later.R")
  writeLines(c(search_code(4), fit), later)
  out <- run_rscript(paste0(sprintf('
    library(kerascraft)
    run <- search_distributed("%s", workers = 2, verbose = 0, timeout = 500, storage = "%s")
    cat("chief:", is.null(run$chief_exit), "exits:", unlist(lapply(run$workers, `[[`, "exits")), "\\n")
    status <- search_worker("%s", storage = "%s", id = "later")
    cat("later:", status, "\\n")
  ', script, journal, later, journal), search_code(4), sprintf('
    t <- tuner("tpe", build_model, objective = "val_accuracy", max_trials = 4,
               directory = "%s", project_name = "shared", storage = "%s")
    res <- results(t)
    cat("trials:", nrow(res), "completed:", sum(res$status == "COMPLETED"), "\\n")
  ', file.path(dir, "tuning"), journal)))
  expect_equal(out$status, 0L, info = out$output)
  expect_match(out$output, "chief: TRUE exits: 0 0", info = out$output)
  expect_match(out$output, "later: 0", info = out$output)
  expect_match(out$output, "trials: 4 completed: 4", info = out$output)
  logs <- unlist(lapply(0:1, function(i) readLines(file.path(dir, "kerascraft_logs",
                                                             sprintf("worker%d.log", i)))))
  expect_true(any(grepl("shared through journal file", logs)), info = paste(logs, collapse = "\n"))
})

test_that("a database that cannot be reached is named without its password", {
  skip_without_python("storages are opened by the core")
  err <- tryCatch(search_storage("postgresql://me:topsecret@127.0.0.1:1/db"),
                  error = function(e) e)
  expect_s3_class(err, "kerascraft_input_error")
  expect_match(conditionMessage(err), "postgresql://me:***@127.0.0.1:1/db", fixed = TRUE)
  expect_false(grepl("topsecret", conditionMessage(err)))
})

test_that("a search from R keeps its record in SQLite, and the dashboard serves it", {
  skip_without_python("searches run in the core")
  dir <- tempfile("watched")
  dir.create(dir)
  db <- sprintf("sqlite:///%s", file.path(dir, "search.db"))
  digits <- load_digits(seed = 0)
  build_model <- function(hp) {
    model <- keras$Sequential(list(keras$Input(shape = list(64L)),
      keras$layers$Dense(hp$Int("units", 8, 32, step = 8), activation = "relu"),
      keras$layers$Dense(10L, activation = "softmax")))
    model$compile(optimizer = "adam", loss = "sparse_categorical_crossentropy",
                  metrics = list("accuracy"))
    model
  }
  t <- tuner("tpe", build_model, objective = "val_accuracy", max_trials = 2,
             directory = file.path(dir, "tuning"), project_name = "from_r", storage = db)
  search(t, digits$x_train, digits$y_train, epochs = 1, verbose = 0,
         validation_data = list(digits$x_val, digits$y_val))
  res <- results(t)
  expect_equal(sum(res$status == "COMPLETED"), 2)
  board <- suppressMessages(dashboard(t))
  on.exit(board$stop(), add = TRUE)
  expect_match(board$url, "^http://127\\.0\\.0\\.1:[0-9]+/dashboard/studies/1$")
  con <- url(sub("dashboard/.*", "api/studies", board$url))
  api <- paste(readLines(con, warn = FALSE), collapse = "")
  close(con)
  expect_match(api, '"study_name": "from_r"', fixed = TRUE)
  board$stop()
  expect_false(board$running)
})

test_that("R workers share a search on a real PostgreSQL, and no password reaches a log", {
  skip_without_python("searches run in the core")
  here <- normalizePath(file.path(testthat::test_path(), "..", "python"), mustWork = FALSE)
  skip_if_not(file.exists(file.path(here, "pgserver.py")),
              "tests/python (the PostgreSQL helper) is not in this copy of the tests")
  pgserver <- reticulate::import_from_path("pgserver", here)
  server <- pgserver$temporary_postgres()  # Debian's PostgreSQL, a throwaway cluster
  url <- server$`__enter__`()
  on.exit(server$`__exit__`(NULL, NULL, NULL), add = TRUE)
  dir <- tempfile("postgres")
  dir.create(dir)
  search_code <- sprintf('
    library(kerascraft)
    digits <- load_digits(seed = 0)
    build_model <- function(hp) {
      model <- keras$Sequential(list(keras$Input(shape = list(64L)),
        keras$layers$Dense(hp$Int("units", 16, 64, step = 16), activation = "relu"),
        keras$layers$Dense(10L, activation = "softmax")))
      model$compile(optimizer = "adam", loss = "sparse_categorical_crossentropy",
                    metrics = list("accuracy"))
      model
    }
    t <- tuner("auto", build_model, objective = "val_accuracy", max_trials = 4,
               directory = "%s", project_name = "pg")
  ', file.path(dir, "tuning"))
  script <- file.path(dir, "search.R")
  writeLines(c(search_code, "search(t, digits$x_train, digits$y_train,
    validation_data = list(digits$x_val, digits$y_val), epochs = 1)"), script)
  run <- search_distributed(script, workers = 2, verbose = 0, timeout = 500, storage = url)
  expect_null(run$chief_exit)
  expect_equal(unname(unlist(lapply(run$workers, `[[`, "exits"))), c(0L, 0L))
  build_model <- function(hp) NULL  # not called: the trials are read back
  t <- tuner("auto", build_model, objective = "val_accuracy", max_trials = 4,
             directory = file.path(dir, "tuning"), project_name = "pg", storage = url)
  res <- results(t)
  expect_equal(sum(res$status == "COMPLETED"), 4)
  logs <- unlist(lapply(list.files(run$log_dir, full.names = TRUE), readLines))
  expect_true(any(grepl("shared through postgresql\\+psycopg://kc:\\*\\*\\*@127\\.0\\.0\\.1", logs)),
              info = paste(logs, collapse = "\n"))
  expect_false(any(grepl(pgserver$PASSWORD, logs, fixed = TRUE)))
})
