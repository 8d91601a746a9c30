# Hyperparameter search: R wrappers over kerascraft.tuning.

#' Make a hyperparameter tuner
#'
#' Creates a KerasTuner tuner over a model-building function written in R (or a Python
#' `HyperModel`). In an R build function, `hp$Int()`, `hp$Float()`, `hp$Choice()`,
#' `hp$Boolean()`, `hp$Fixed()` and `hp$conditional_scope()` take R values: write
#' `hp$Int("units", 16, 64, step = 16)` without `L` suffixes, and give choices as a
#' character vector.
#'
#' @param kind `"auto"` (the default: TPE for conditional spaces; otherwise kerascraft's own
#'   Gaussian process on NumPy and SciPy, which starts modelling after 3 random trials, for
#'   budgets under 30 trials or when PyTorch is not installed, and Optuna's Gaussian process
#'   (the GP and TPE taking turns above 8 hyperparameters) from 30 trials when it is; the
#'   search says which and why), `"tpe"`, `"gp"`, `"gp-numpy"` (Optuna's TPE and Gaussian
#'   process, which needs PyTorch, and kerascraft's), or KerasTuner's `"random"`,
#'   `"bayesian"`, `"hyperband"`, `"grid"`. The core holds the list
#'   (`kerascraft.TUNER_KINDS`) and names it when `kind` is not among them.
#' @param build_model a function `function(hp)` returning a compiled Keras model, or a
#'   Python `keras_tuner.HyperModel` instance.
#' @param objective the metric to optimise, e.g. `"val_accuracy"` (direction inferred as
#'   KerasTuner does), or an [objective()] for metrics it cannot infer.
#' @param max_trials trial budget (default 10; grid: the whole grid;
#'   hyperband has none, it uses `max_epochs` and `factor`).
#' @param executions_per_trial models trained (and averaged) per configuration.
#' @param directory,project_name where trials are saved; `project_name` defaults to
#'   `kind`.
#' @param overwrite `TRUE` starts afresh; `FALSE` (the default) resumes an existing
#'   project, keeping its finished trials.
#' @param storage for `"auto"`, `"tpe"`, `"gp"` and `"gp-numpy"`: share the search through
#'   a database or a journal file: a URL such as
#'   `"postgresql://user:password@host:5432/db"` or `"sqlite:///path/search.db"`, a
#'   journal file's path, or a [search_storage()]. Processes on any machine that build the
#'   same tuner ([search_worker()]) then take their trials from it, and a search is resumed
#'   by connecting to it again. `project_name` names the search in the storage. A process
#'   started as a worker uses `KERASCRAFT_STORAGE` when `storage` is `NULL`. Models and
#'   checkpoints stay in `directory`, which workers on several machines must share.
#' @param ... the oracle's options (`seed`, `num_initial_points`, `max_epochs`, `factor`,
#'   `max_consecutive_failed_trials`, for `"auto"`, `"tpe"`, `"gp"` and `"gp-numpy"`
#'   `sampler_options`:
#'   a named list of the Optuna sampler's arguments, and `pruning = TRUE` (or
#'   `list(min_epochs = 2, factor = 3)`) to stop trials that are behind the best third at
#'   epochs 2, 6, 18, ...; they show as `"PRUNED"` in [results()]). Whole numbers are passed as
#'   integers. A `seed` starts a random stream of its own: seeds 1 and 2 give unrelated
#'   searches.
#' @return A KerasTuner tuner (a Python object); use it with [search()], [results()],
#'   [best_hyperparameters()] and [best_models()].
#' @examplesIf kerascraft::python_ready()
#' build_model <- function(hp) {
#'   model <- keras$Sequential(list(
#'     keras$Input(shape = list(64L)),
#'     keras$layers$Dense(hp$Int("units", 16, 64, step = 16), activation = "relu"),
#'     keras$layers$Dense(10L, activation = "softmax")
#'   ))
#'   model$compile(optimizer = hp$Choice("optimizer", c("rmsprop", "adam")),
#'                 loss = "sparse_categorical_crossentropy", metrics = list("accuracy"))
#'   model
#' }
#' t <- tuner("random", build_model, objective = "val_accuracy", max_trials = 2,
#'            directory = tempfile(), seed = 1)
#' search_space_summary(t)
#' @export
tuner <- function(kind = "auto", build_model,
                  objective = "val_loss", max_trials = NULL, executions_per_trial = 1,
                  directory = "kerascraft_tuning", project_name = NULL, overwrite = FALSE,
                  storage = NULL, ...) {
  if (missing(build_model)) {
    kc_abort("tuner() needs build_model: a function(hp) that returns a compiled Keras model.")
  }
  args <- as_python_args(list(
    kind = kind, hypermodel = as_hypermodel(build_model), objective = objective, max_trials = max_trials,
    executions_per_trial = executions_per_trial, directory = path.expand(directory),
    project_name = project_name, overwrite = overwrite, storage = storage, ...
  ))
  t <- do.call(kc_core()$tuner, args)
  class(t) <- c("kerascraft_tuner", class(t))
  t
}

#' KerasTuner's pre-made image search spaces
#'
#' @param kind `"resnet"` (HyperResNet) or `"xception"` (HyperXception).
#' @param input_shape image shape, e.g. `c(32, 32, 3)` (ResNet needs at least 32x32).
#' @param classes number of classes.
#' @param ... the hypermodel's own options.
#' @return A KerasTuner HyperModel for [tuner()]. It compiles with categorical
#'   cross-entropy (one-hot labels); for class indices pass
#'   `loss = "sparse_categorical_crossentropy"` to [tuner()].
#' @examplesIf kerascraft::python_ready()
#' hm <- premade_hypermodel("xception", c(32, 32, 3), classes = 10)
#' @export
premade_hypermodel <- function(kind = c("resnet", "xception"), input_shape, classes, ...) {
  kind <- match.arg(kind)
  kc_core()$premade_hypermodel(kind, as.list(as.integer(input_shape)),
                               as_python_args(list(n = classes))$n, ...)
}

#' Plot a search
#'
#' `what = "progress"`: the score of each trial and the best so far; `what =
#' "hyperparameters"`: the score against each hyperparameter. Failed trials are left out.
#'
#' @param x a tuner after [search()].
#' @param what which plot.
#' @param ... unused.
#' @return A ggplot object.
#' @examplesIf kerascraft::python_ready() && requireNamespace("ggplot2", quietly = TRUE)
#' # see vignette("tuning", package = "kerascraft")
#' @export
plot.kerascraft_tuner <- function(x, what = c("progress", "hyperparameters"), ...) {
  what <- match.arg(what)
  if (!requireNamespace("ggplot2", quietly = TRUE)) {
    kc_abort("plot() of a tuner needs ggplot2: install.packages('ggplot2') ",
         "(Debian: apt-get install r-cran-ggplot2).", class = "kerascraft_dependency_error")
  }
  data <- kc_core()$search_plot_data(x)  # the same data matplotlib draws in Python
  progress <- columns_to_df(data$progress)
  if (nrow(progress) == 0) kc_abort("no finished trial to plot yet: run search() first.")
  if (what == "progress") {
    return(ggplot2::ggplot(progress, ggplot2::aes(x = .data$trial)) +
      ggplot2::geom_point(ggplot2::aes(y = .data$score, colour = .data$status)) +
      ggplot2::geom_step(ggplot2::aes(y = .data$best), direction = "hv") +
      ggplot2::scale_x_continuous(breaks = function(lim) unique(floor(pretty(lim)))) +
      ggplot2::labs(x = "trial", y = data$objective,
                    title = "Search progress (line: best so far)"))
  }
  long <- columns_to_df(data$hyperparameters)
  ggplot2::ggplot(long, ggplot2::aes(x = .data$label, y = .data$score)) +
    ggplot2::geom_point() +
    ggplot2::facet_wrap(~hyperparameter, scales = "free_x") +
    ggplot2::labs(x = NULL, y = data$objective, title = "Score against each hyperparameter")
}

# An R build function gets an `hp` that takes R values (see hp.R); Python HyperModels and
# tuners pass through. The function's R code goes with it (Python has no source for it), so
# that the core can tell whether a saved search was made with the same model.
as_hypermodel <- function(build_model) {
  if (is.function(build_model)) {
    force(build_model)
    kc_ensure_python()
    wrapped <- reticulate::r_to_py(function(hp) build_model(wrap_hp(hp)), convert = TRUE)
    reticulate::py_set_attr(wrapped, "__kerascraft_source__", r_source(build_model))
    return(wrapped)
  }
  if (!inherits(build_model, "python.builtin.object")) {
    kc_abort("build_model must be a function(hp) returning a compiled Keras model, or a ",
         "Python keras_tuner HyperModel; got ", class(build_model)[1], ".")
  }
  build_model
}

# R code as one string, what identifies an R build function or %py_class% body.
r_source <- function(code) paste(deparse(code, width.cutoff = 500L), collapse = "\n")

#' An objective with an explicit direction
#'
#' KerasTuner infers whether to minimise or maximise its usual metrics (`val_loss`,
#' `val_accuracy`, ...); custom metrics need a direction.
#'
#' @param name the metric as `fit()` logs it, e.g. `"val_auc"`.
#' @param direction `"min"` or `"max"`.
#' @return A `keras_tuner.Objective`.
#' @examplesIf kerascraft::python_ready()
#' objective("val_auc", "max")
#' @export
objective <- function(name, direction = c("min", "max")) {
  direction <- match.arg(direction)
  kc_core()$objective(name, direction)
}

#' Print a tuner's search space
#'
#' @param tuner a tuner from [tuner()].
#' @param extended `TRUE` for every detail.
#' @return `tuner`, invisibly.
#' @examplesIf kerascraft::python_ready()
#' # see ?tuner
#' @export
search_space_summary <- function(tuner, extended = FALSE) {
  cat(reticulate::py_capture_output(kc_core()$search_space_summary(tuner, extended = extended)))
  invisible(tuner)
}

#' Run a hyperparameter search
#'
#' Trains one model per trial with `fit()`; takes what `fit()` takes. R data are converted
#' for you: numbers to float32 (integer labels stay integers), data frames to matrices,
#' factors to 0-based codes, and whole numbers to integers where Python wants them
#' (`epochs = 10` works). Missing values stop the search before any training.
#'
#' Called with no arguments, `search()` is [base::search()] (the search path).
#'
#' @param tuner a tuner from [tuner()].
#' @param x,y training inputs and targets.
#' @param ... further `fit()` arguments: `epochs`, `batch_size`, `callbacks` (a callback
#'   or a list of them), `verbose` (0 silent, 1 one line per trial, 2 also per epoch), ...;
#'   and `stop_early = TRUE` to end the search when more time buys nothing: once 5 trials
#'   have finished and those since the best one took half the budget (`time_limit`, or
#'   `max_trials` times the median trial's seconds; a number between 0 and 1 sets the
#'   share). `tuner$search_ended` says so.
#' @param validation_data `list(x_val, y_val)`.
#' @param time_limit seconds (or a `difftime`) the search may take; `NULL`: no limit. A
#'   trial starts only when the trials so far say it ends in time, and the trial running
#'   when the time is up stops at the end of an epoch, keeping its best epoch; finished
#'   trials are kept, so calling `search()` again with a new limit continues.
#'   `tuner$search_ended` then says what the limit left out.
#' @return `tuner`, invisibly, after the search.
#' @examplesIf kerascraft::python_ready()
#' # see vignette("tuning", package = "kerascraft")
#' @export
search <- function(tuner, x, y = NULL, ..., validation_data = NULL, time_limit = NULL) {
  if (missing(tuner)) return(base::search())
  args <- as_python_args(c(list(...), list(time_limit = time_limit)))
  if (!is.null(args$callbacks) && inherits(args$callbacks, "python.builtin.object")) {
    args$callbacks <- list(args$callbacks)
  }
  data <- fit_data_args(x, y, validation_data)
  reticulate::py_set_attr(tuner, "report", console_line)
  do.call(kc_wrap(tuner)$search, c(list(data[[1]], data[[2]]), args,
                          list(validation_data = data[[3]])))
  invisible(tuner)
}

#' Every trial of a search, as a data frame
#'
#' @param tuner a tuner from [tuner()].
#' @return A data frame, one row per trial in trial order: `trial_id`, `status`
#'   (`"COMPLETED"`, `"FAILED"`, `"INVALID"`, `"RUNNING"`), `score` (the objective),
#'   `best_epoch` (1-based epoch of the best score), `seconds` (wall time), `retries`
#'   (how often it ran again because its process died), `error` (why a trial failed), then
#'   one column per hyperparameter (`NA` where inactive).
#' @examplesIf kerascraft::python_ready()
#' # see ?tuner; results(t) after search()
#' @export
results <- function(tuner) {
  columns_to_df(kc_core()$result_columns(tuner))
}

#' The best hyperparameter configurations
#'
#' @param tuner a tuner after [search()].
#' @param n how many, best first.
#' @return A list of `n` KerasTuner `HyperParameters`; `hps[[1]]$values` is a named list.
#'   Pass one to a build function to rebuild that model.
#' @examplesIf kerascraft::python_ready()
#' # see ?tuner; best_hyperparameters(t, 2) after search()
#' @export
best_hyperparameters <- function(tuner, n = 1) {
  kc_core()$best_hyperparameters(tuner, as_python_args(list(n = n))$n)
}

#' The best models of a search, as saved
#'
#' Models of the `n` best trials with the weights of each trial's best epoch, as the search
#' saved them. Retraining on train+validation usually does better: see [retrain_best()].
#'
#' @inheritParams best_hyperparameters
#' @return A list of Keras models.
#' @examplesIf kerascraft::python_ready()
#' # see ?tuner; best_models(t, 1) after search()
#' @export
best_models <- function(tuner, n = 1) {
  kc_core()$best_models(tuner, as_python_args(list(n = n))$n)
}
