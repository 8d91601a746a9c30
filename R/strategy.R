# Scaling out: R wrappers over kerascraft.strategy, kerascraft.pipeline and
# kerascraft.distributed. Strategies are Python objects; `with(strategy$scope(), {...})`
# builds models under them as in Python.

#' The distribution strategy that fits this machine
#'
#' On TensorFlow: a TPU (looked up only where the environment suggests one, for at most
#' `tpu_timeout` seconds), `MultiWorkerMirroredStrategy` when `TF_CONFIG` describes a
#' cluster, `MirroredStrategy` over several GPUs or over the logical CPUs made by
#' [simulate_devices()], otherwise one device. On JAX: `keras.distribution.DataParallel` over
#' several devices, otherwise one device. `strategy$reason` says why. Build and compile
#' models inside `with(strategy$scope(), {...})`; give `fit()` the global batch size
#' ([global_batch_size()]).
#'
#' @param tpu_timeout seconds to wait for a TPU that the environment suggests.
#' @return The strategy (a Python object with `scope()`, `num_replicas_in_sync`, `reason`).
#' @examplesIf kerascraft::python_ready()
#' strategy <- auto_strategy()
#' strategy$reason
#' strategy$num_replicas_in_sync
#' @export
auto_strategy <- function(tpu_timeout = 10) kc_core()$auto_strategy(tpu_timeout = tpu_timeout)

#' Explicit strategies
#'
#' `mirrored_strategy()`: `MirroredStrategy` over `devices` (default every GPU, else every
#' logical CPU). `tpu_strategy()`: `TPUStrategy` on a TPU, a clear error where there is none.
#' `multi_worker_strategy()`: `MultiWorkerMirroredStrategy` for the cluster in `TF_CONFIG`
#' (train with [fit_distributed()]: Keras 3.15's `fit()` fails under it).
#'
#' @param devices device names such as `c("/cpu:0", "/cpu:1")`.
#' @param tpu the TPU's name or address; `NULL` for this machine's.
#' @param timeout seconds to wait for the TPU.
#' @return A strategy.
#' @examplesIf kerascraft::python_ready()
#' s <- mirrored_strategy()   # every logical CPU here
#' s$num_replicas_in_sync
#' @export
mirrored_strategy <- function(devices = NULL) kc_core()$mirrored_strategy(devices)

#' @rdname mirrored_strategy
#' @export
tpu_strategy <- function(tpu = NULL, timeout = 10) kc_core()$tpu_strategy(tpu, timeout = timeout)

#' @rdname mirrored_strategy
#' @export
multi_worker_strategy <- function() kc_core()$multi_worker_strategy()

#' Split the CPU into several devices
#'
#' For trying multi-device code on a laptop. Call it first, before anything starts the
#' backend (in a fresh R session: `library(kerascraft); simulate_devices(2)`); called too
#' late it says so.
#'
#' @param n how many logical devices.
#' @return The device names, invisibly.
#' @examplesIf kerascraft::python_ready()
#' \dontrun{
#' # in a fresh R session
#' library(kerascraft)
#' simulate_devices(2)
#' auto_strategy()$reason
#' }
#' @export
simulate_devices <- function(n) invisible(unlist(kc_core()$simulate_devices(as_whole(n))))

#' Batch size and learning rate under a strategy
#'
#' The `batch_size` given to `fit()` is the global batch, split over the replicas:
#' `global_batch_size(64, strategy)` is 64 samples per replica. A larger global batch wants
#' a larger learning rate: `scaled_learning_rate()` applies the linear scaling rule.
#'
#' @param per_replica samples per replica and step.
#' @param strategy a strategy (`NULL`: one replica).
#' @param learning_rate a learning rate tuned for `base_replicas` replicas.
#' @param base_replicas replicas the learning rate was tuned for.
#' @return A number.
#' @examplesIf kerascraft::python_ready()
#' global_batch_size(64, auto_strategy())
#' scaled_learning_rate(1e-3, auto_strategy())
#' @export
global_batch_size <- function(per_replica, strategy = NULL) {
  kc_core()$global_batch_size(as_whole(per_replica), strategy)
}

#' @rdname global_batch_size
#' @export
scaled_learning_rate <- function(learning_rate, strategy = NULL, base_replicas = 1) {
  kc_core()$scaled_learning_rate(learning_rate, strategy, as_whole(base_replicas))
}

#' Was this model built inside the strategy's scope?
#'
#' Keras stops such a model with a bare `AssertionError` deep inside `fit()`; this names the
#' problem and the fix. Once kerascraft has made a strategy, `fit()` under a scope runs this
#' check itself.
#'
#' @param model a Keras model.
#' @param strategy the strategy (default: the one in effect).
#' @return `invisible(TRUE)`, or an error.
#' @examplesIf kerascraft::python_ready()
#' strategy <- auto_strategy()
#' with(strategy$scope(), {
#'   model <- keras$Sequential(list(keras$Input(shape = list(4L)), keras$layers$Dense(1L)))
#' })
#' check_strategy(model, strategy)
#' @export
check_strategy <- function(model, strategy = NULL) {
  kc_core()$check_strategy(model, strategy)
  invisible(TRUE)
}

#' Train under any tf.distribute strategy, several workers included
#'
#' Builds the model inside the strategy's scope and trains it with a loop over
#' `strategy$run`, which works under `MultiWorkerMirroredStrategy` (Keras 3.15's `fit()`
#' does not). Run the same code in every worker, each with its `TF_CONFIG` ([tf_config()]).
#'
#' @param build_model a function with no arguments that returns a compiled model.
#' @param x,y training data.
#' @param epochs,batch_size passes over the data; the global batch.
#' @param strategy default [auto_strategy()].
#' @param shuffle,seed shuffling; the same seed in every worker.
#' @param verbose 1: a line per epoch (from worker 0).
#' @return A list: `model`, `history` (loss per epoch), `strategy`.
#' @examplesIf kerascraft::python_ready()
#' \donttest{
#' build <- function() {
#'   model <- keras$Sequential(list(keras$Input(shape = list(4L)), keras$layers$Dense(1L)))
#'   model$compile(optimizer = "sgd", loss = "mse")
#'   model
#' }
#' x <- matrix(rnorm(256 * 4), ncol = 4)
#' out <- fit_distributed(build, x, x %*% c(1, 2, 3, 4), epochs = 2, verbose = 0)
#' out$history
#' }
#' @export
fit_distributed <- function(build_model, x, y, epochs = 1, batch_size = 32, strategy = NULL,
                            shuffle = TRUE, seed = 0, verbose = 1) {
  args <- as_python_args(list(epochs = epochs, batch_size = batch_size, seed = seed, verbose = verbose))
  do.call(kc_core()$fit_distributed,
          c(list(build_model, r_fit_data(x, "x"), r_fit_data(y, "y"), strategy = strategy,
                 shuffle = shuffle), args))
}

#' TF_CONFIG for a cluster of workers
#'
#' @param workers `"host:port"` strings, or a number of workers on 127.0.0.1 with free
#'   ports.
#' @param index this process's place among them (0-based, as TensorFlow counts).
#' @return The JSON string, for `Sys.setenv(TF_CONFIG = ...)` before the backend starts.
#' @examplesIf kerascraft::python_ready()
#' tf_config(c("10.0.0.1:12345", "10.0.0.2:12345"), 0)
#' @export
tf_config <- function(workers, index) {
  if (is.numeric(workers) && length(workers) == 1) workers <- as_whole(workers)
  kc_core()$tf_config(workers, as_whole(index))
}

#' Input pipelines from R arrays
#'
#' `make_dataset()` makes a batched `tf.data` dataset (float32, prefetching, sharded by data
#' so that multi-device runs do not warn). `write_tfrecords()` writes arrays to sharded
#' TFRecord files for data that does not fit in memory; `read_tfrecords()` reads them back
#' as a dataset.
#'
#' @param x,y features and targets (R arrays and matrices; doubles become float32).
#' @param batch_size the global batch.
#' @param shuffle reshuffle every epoch.
#' @param cache `TRUE` to cache in memory after the first epoch, or a file path.
#' @param prefetch overlap input and training.
#' @param seed shuffle seed.
#' @param drop_remainder drop the last partial batch.
#' @param path file prefix of the shards.
#' @param shards how many files.
#' @return A dataset (for `fit()`), or the shard file names.
#' @examplesIf kerascraft::python_ready()
#' ds <- make_dataset(matrix(runif(20), 10), 0:9, batch_size = 4)
#' files <- write_tfrecords(file.path(tempdir(), "train"), matrix(runif(20), 10), 0:9, shards = 2)
#' read_tfrecords(file.path(tempdir(), "train"), batch_size = 5)
#' @export
make_dataset <- function(x, y = NULL, batch_size = 32, shuffle = TRUE, cache = FALSE,
                         prefetch = TRUE, seed = NULL, drop_remainder = FALSE) {
  kc_core()$make_dataset(r_fit_data(x, "x"), r_fit_data(y, "y"), batch_size = as_whole(batch_size),
                         shuffle = shuffle, cache = cache, prefetch = prefetch,
                         seed = as_python_args(list(seed = seed))$seed,
                         drop_remainder = drop_remainder)
}

#' @rdname make_dataset
#' @export
write_tfrecords <- function(path, x, y = NULL, shards = 4) {
  unlist(kc_core()$write_tfrecords(path.expand(path), r_fit_data(x, "x"), r_fit_data(y, "y"),
                                   shards = as_whole(shards)))
}

#' @rdname make_dataset
#' @export
read_tfrecords <- function(path, batch_size = 32, shuffle = TRUE, cache = FALSE,
                           prefetch = TRUE, seed = NULL, drop_remainder = FALSE) {
  kc_core()$read_tfrecords(path.expand(path), batch_size = as_whole(batch_size),
                           shuffle = shuffle, cache = cache, prefetch = prefetch,
                           seed = as_python_args(list(seed = seed))$seed,
                           drop_remainder = drop_remainder)
}

#' Choose steps_per_execution by measuring
#'
#' Trains copies of a compiled model with each candidate `steps_per_execution` and returns
#' the smallest one within `tolerance` of the fastest (Keras 3.15 has no `"auto"`).
#'
#' @param model a compiled Keras model (left unchanged).
#' @param x,y training data.
#' @param candidates values to try.
#' @param batch_size,steps,repeats the measurement: batch, steps per timing, timings.
#' @param tolerance how far from the fastest the chosen value may be.
#' @return A list: `best` (for `compile(steps_per_execution = ...)`), `fastest`, `table`
#'   (a data frame: `steps_per_execution`, `samples_per_second`, `speedup`).
#' @examplesIf kerascraft::python_ready()
#' \donttest{
#' digits <- load_digits()
#' model <- keras$Sequential(list(keras$Input(shape = list(64L)),
#'                                keras$layers$Dense(32L, activation = "relu"),
#'                                keras$layers$Dense(10L, activation = "softmax")))
#' model$compile(optimizer = "adam", loss = "sparse_categorical_crossentropy")
#' fusion <- tune_steps_per_execution(model, digits$x_train, digits$y_train,
#'                                    candidates = c(1, 8), steps = 16, repeats = 2)
#' fusion$table
#' }
#' @export
tune_steps_per_execution <- function(model, x, y, candidates = c(1, 2, 4, 8, 16, 32),
                                     batch_size = 32, steps = 64, repeats = 3, tolerance = 0.05) {
  out <- kc_core()$tune_steps_per_execution(
    model, r_fit_data(x, "x"), r_fit_data(y, "y"), candidates = as_whole(candidates),
    batch_size = as_whole(batch_size), steps = as_whole(steps),
    repeats = as_whole(repeats), tolerance = tolerance)
  list(best = out$best, fastest = out$fastest, table = records_to_df(out$table))
}

#' Run a search with several worker processes
#'
#' With `storage` (the tuner kinds `"auto"`, `"tpe"`, `"gp"`, `"gp-numpy"`), `workers`
#' processes run the search script and take their trials from the storage, with no chief:
#' a worker that dies has its trial run again by another (a database's heartbeat tells),
#' and workers on other machines can join at any time with [search_worker()].
#'
#' Without `storage`, KerasTuner's distributed mode, started and watched: the same search
#' script runs as the chief (the oracle, on 127.0.0.1 unless `host` says otherwise) and as
#' `workers` workers. A worker that dies is started again and its trial retried; a trial
#' whose worker dies more than `max_retries` times is recorded as failed; the chief is
#' stopped if it waits for workers that are gone.
#'
#' The script may be an R script (run with Rscript) or a Python one.
#'
#' @param script path of the search script (`.py` or `.R`): it builds the tuner with a fixed
#'   `directory` and `overwrite = FALSE` and calls `search()`.
#' @param workers worker processes.
#' @param host,port where the oracle listens.
#' @param max_retries runs of a trial whose worker died before it is recorded as failed.
#' @param trials_per_process a worker leaves after this many trials and a fresh process
#'   takes its place: hands back everything a process keeps of its trials (kerascraft
#'   already frees what TensorFlow and JAX keep of each trial; code of your own that leaks
#'   is also covered), at the price of a process start per that many trials. `NULL`: never.
#' @param timeout seconds before everything is stopped (`NULL`: none).
#' @param verbose 1 reports starts, deaths and the end.
#' @param storage a database URL or a journal file's path (see [tuner()]): the script's
#'   `tuner()` needs no `storage` argument, since a worker reads `KERASCRAFT_STORAGE`.
#'   `host`, `port`, `max_retries` and `trials_per_process` are the chief's and do not
#'   apply.
#' @return A list: `chief_exit` (`NULL` with `storage`), `workers` (starts, exit codes,
#'   recycled), `seconds`, `log_dir`.
#' @examplesIf kerascraft::python_ready()
#' \donttest{
#' script <- tempfile(fileext = ".R")
#' writeLines(c(
#'   "library(kerascraft)",
#'   "digits <- load_digits()",
#'   "build <- function(hp) {",
#'   "  model <- keras$Sequential(list(keras$Input(shape = list(64L)),",
#'   "    keras$layers$Dense(hp$Int('units', 16, 64, step = 16), activation = 'relu'),",
#'   "    keras$layers$Dense(10L, activation = 'softmax')))",
#'   "  model$compile(optimizer = 'adam', loss = 'sparse_categorical_crossentropy',",
#'   "                metrics = list('accuracy'))",
#'   "  model",
#'   "}",
#'   sprintf("t <- tuner('random', build, objective = 'val_accuracy', max_trials = 2, directory = '%s')",
#'           file.path(tempdir(), "distributed")),
#'   "search(t, digits$x_train, digits$y_train, epochs = 2,",
#'   "       validation_data = list(digits$x_val, digits$y_val), verbose = 0)"
#' ), script)
#' out <- search_distributed(script, workers = 2, timeout = 300)
#' out$chief_exit
#' }
#' @export
search_distributed <- function(script, workers = 2, host = "127.0.0.1", port = NULL,
                               max_retries = 1, trials_per_process = NULL, timeout = NULL,
                               verbose = 1, storage = NULL) {
  python <- if (grepl("\\.[Rr]$", script)) file.path(R.home("bin"), "Rscript") else reticulate::py_exe()
  kc_core()$search_distributed(path.expand(script), workers = as_whole(workers), host = host,
                               port = as_whole(port),
                               max_retries = as_whole(max_retries),
                               trials_per_process = as_whole(trials_per_process),
                               timeout = timeout,
                               python = python, verbose = as_whole(verbose),
                               storage = storage)
}

#' Join a shared search as a worker
#'
#' Runs a search script (R or Python) as one worker of a search shared through a database
#' or a journal file: it takes the next trial from the storage, records a heartbeat while
#' it trains, reports the result, and ends when the search has its `max_trials` trials.
#' Start as many as you like, on any machines that reach the database and share the
#' search's `directory`; a worker started later joins the search where it is. The worker
#' runs in a process of its own; this call returns when it ends.
#'
#' @param script path of the search script (`.R` or `.py`): it builds the tuner with
#'   `overwrite = FALSE` and a fixed `directory` and `project_name` (no `storage`
#'   argument needed: the worker's comes from here) and calls `search()`.
#' @param storage a database URL or a journal file's path. `NULL`: the environment
#'   variable `KERASCRAFT_STORAGE`, which keeps a password out of scripts and off
#'   command lines.
#' @param id the worker's name, shown in the storage (default: host and process id).
#' @return The worker process's exit status (0: the search is done), invisibly.
#' @examplesIf kerascraft::python_ready()
#' \donttest{
#' # on each machine, with the same script:
#' # search_worker("search.R", storage = "postgresql://kc:secret@db-host:5432/searches")
#' }
#' @seealso [search_distributed()] for several workers on this machine; [dashboard()] to
#'   watch the search.
#' @export
search_worker <- function(script, storage = NULL, id = NULL) {
  script <- path.expand(script)
  if (!file.exists(script)) kc_abort("no search script ", script, ".")
  storage <- storage %||% Sys.getenv("KERASCRAFT_STORAGE")
  if (!nzchar(storage)) {
    kc_abort("search_worker() needs storage: a database URL or a journal file's path ",
             "(or the environment variable KERASCRAFT_STORAGE).")
  }
  kc_core()$storage(storage)  # a database that cannot be reached: an error now
  id <- id %||% sprintf("%s-%d", Sys.info()[["nodename"]], Sys.getpid())
  # the URL goes through the environment, not the command line (ps shows that)
  env <- c(KERASCRAFT_STORAGE = storage, KERASCRAFT_WORKER = "1", KERASTUNER_TUNER_ID = id)
  command <- if (grepl("\\.[Rr]$", script)) file.path(R.home("bin"), "Rscript") else reticulate::py_exe()
  old <- Sys.getenv(names(env), unset = NA, names = TRUE)
  on.exit(for (n in names(old)) {
    if (is.na(old[[n]])) Sys.unsetenv(n) else do.call(Sys.setenv, as.list(old[n]))
  }, add = TRUE)
  do.call(Sys.setenv, as.list(env))
  status <- system2(command, shQuote(script))
  invisible(status)
}

#' Watch a search live in optuna-dashboard
#'
#' Starts optuna-dashboard for a search kept in a storage (a tuner made with `storage =`,
#' or the storage's URL), in a process of its own on 127.0.0.1 and a free port, so it keeps
#' serving while R trains or waits at the prompt. Open `board$url` in a browser; the
#' history plot, the hyperparameters' importance and each trial's curve update as workers
#' report. `board$stop()` stops it (it also stops when R ends). optuna-dashboard is an
#' extra: `pip install 'kerascraft[dashboard]'` in kerascraft's Python environment
#' (`make test` installs it).
#'
#' Its pages can change the study and have no log-in: keep `host` at 127.0.0.1 and reach
#' it from another machine through an SSH tunnel (`ssh -L 8080:127.0.0.1:PORT host`).
#'
#' @param search a tuner made with `storage =`, or a database URL or journal file's path.
#' @param host where it listens.
#' @param port its port; 0 takes a free one.
#' @return The running dashboard (a Python object): `$url`, `$stop()`, `$running`.
#' @examplesIf kerascraft::python_ready() && reticulate::py_module_available("optuna_dashboard")
#' \donttest{
#' board <- dashboard(sprintf("sqlite:///%s", tempfile(fileext = ".db")))
#' board$url
#' board$stop()
#' }
#' @export
dashboard <- function(search, host = "127.0.0.1", port = 0) {
  board <- kc_core()$dashboard(search, host = host, port = as_whole(port))
  message("kerascraft: optuna-dashboard at ", board$url, "; stop it with $stop()")
  invisible(board)
}

#' A search's storage, with its heartbeat settings
#'
#' @param url a database URL (`"postgresql://user:password@host:5432/db"`,
#'   `"sqlite:///path/search.db"`) or a journal file's path; `NULL`: the environment
#'   variable `KERASCRAFT_STORAGE`.
#' @param heartbeat_interval seconds between a running trial's heartbeats.
#' @param grace_period seconds without a heartbeat after which a trial is failed (its
#'   worker killed, or its machine lost) and queued again.
#' @param max_retries how often such a trial is run again.
#' @return An Optuna storage, for [tuner()]'s `storage`.
#' @examplesIf kerascraft::python_ready()
#' s <- search_storage(sprintf("sqlite:///%s", tempfile(fileext = ".db")))
#' @export
search_storage <- function(url = NULL, heartbeat_interval = 10, grace_period = 60,
                           max_retries = 1) {
  kc_core()$storage(url, heartbeat_interval = as_whole(heartbeat_interval),
                    grace_period = as_whole(grace_period), max_retries = as_whole(max_retries))
}
