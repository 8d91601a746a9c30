# Mixed precision: R wrappers over kerascraft.precision.

#' Use mixed precision chosen for the hardware
#'
#' Sets Keras's global dtype policy. `"auto"` picks bfloat16 on TPUs and on NVIDIA GPUs of
#' compute capability 8.0 or newer, float16 on older GPUs with tensor cores, and on CPUs
#' bfloat16 only where it was measured faster (TensorFlow on a CPU with AVX512_BF16/AMX);
#' otherwise float32. Build models after this call.
#'
#' @param policy `"auto"`, `"mixed_bfloat16"`, `"mixed_float16"` or `"float32"`.
#' @return A list of class `kerascraft_precision`: `policy`, `reason`, `hardware`.
#' @examplesIf kerascraft::python_ready()
#' choice <- use_mixed_precision("auto")
#' choice
#' use_mixed_precision("float32")
#' @export
use_mixed_precision <- function(policy = "auto") {
  as_precision_choice(kc_core()$use_mixed_precision(policy))
}

as_precision_choice <- function(choice) {
  structure(list(policy = choice$policy, reason = choice$reason, hardware = choice$hardware),
            class = "kerascraft_precision")
}

#' @export
print.kerascraft_precision <- function(x, ...) {
  cat(sprintf("precision policy: %s\n  why: %s\n  on: %s (%s backend)\n", x$policy, x$reason,
              x$hardware$device, x$hardware$backend))
  invisible(x)
}

#' A precision policy for one block of code
#'
#' For `with(precision_scope(policy), {...})`: models built inside use `policy`; the
#' previous policy comes back afterwards, also when the block fails.
#'
#' @inheritParams use_mixed_precision
#' @return A Python context manager, for [with()].
#' @examplesIf kerascraft::python_ready()
#' with(precision_scope("mixed_bfloat16"), {
#'   layer <- keras$layers$Dense(4L)
#' })
#' layer$compute_dtype
#' @export
precision_scope <- function(policy = "auto") {
  kc_core()$precision_scope(policy)
}

#' What will hurt a model under mixed precision
#'
#' Lists softmax/sigmoid outputs computed in float16 or bfloat16, layers whose variables are
#' not float32, float64 inputs or data, and float16 training without loss scaling, each
#' with its fix.
#'
#' @param model a Keras model.
#' @param x optionally the data it will be trained on (float64 data is reported).
#' @return A data frame with columns `layer`, `problem`, `fix`; no rows when nothing was
#'   found.
#' @examplesIf kerascraft::python_ready()
#' with(precision_scope("mixed_bfloat16"), {
#'   model <- keras$Sequential(list(keras$Input(shape = list(4L)),
#'                                  keras$layers$Dense(3L, activation = "softmax")))
#' })
#' check_precision(model)
#' @export
check_precision <- function(model, x = NULL) {
  findings <- kc_core()$check_precision(model, x = if (is.null(x)) NULL else as_float64_array(x))
  records_to_df(findings, c("layer", "problem", "fix"))
}

# R data as the array Python will see (doubles stay float64), for check_precision(x =).
as_float64_array <- function(x) {
  if (inherits(x, "python.builtin.object")) return(x)
  reticulate::r_to_py(r_fit_data(x))
}

#' The output of a mixed-precision classifier, computed in float32
#'
#' A `Dense` layer in the policy's dtype followed by the activation in float32, as the
#' Keras mixed-precision guide advises.
#'
#' @param units number of outputs.
#' @param activation `"softmax"` or `"sigmoid"`.
#' @param name optional name of the activation layer.
#' @return A list of two Keras layers; append them to a `Sequential` model's layers.
#' @examplesIf kerascraft::python_ready()
#' layers <- output_layers(10, "softmax")
#' layers[[2]]$dtype_policy$name
#' @export
output_layers <- function(units, activation = "softmax", name = NULL) {
  kc_core()$output_layers(as_python_args(list(units = units))$units, activation, name = name)
}

#' Convert numbers to float32
#'
#' R numbers are doubles; TensorFlow keeps them as float64, which is slow and, under mixed
#' precision, casts on every batch. `as_float32()` converts vectors, matrices, arrays and
#' data frames of numbers once. kerascraft's own functions ([search()] and the others) do
#' it for you.
#'
#' @param x numbers: a vector, matrix, array or data frame of numeric columns.
#' @return A NumPy float32 array (a Python object, so that it stays float32); pass it to
#'   Keras functions as is.
#' @examplesIf kerascraft::python_ready()
#' x <- as_float32(matrix(runif(6), 2))
#' x$dtype
#' @export
as_float32 <- function(x) {
  kc_core_unconverted()$as_float32(r_fit_data(x))
}

#' Training throughput per precision policy
#'
#' Builds and trains a fresh model under each policy, side by side in one process, several
#' times in rotating order, and reports the median throughput and its ratio to the first
#' policy. The first epoch of each run (compilation) is not timed.
#'
#' @param build_fn a function with no arguments that returns a compiled Keras model.
#' @param data `list(x, y)`.
#' @param policies policies to compare; the first is the baseline.
#' @param epochs timed epochs per run.
#' @param batch_size batch size.
#' @param repeats runs per policy.
#' @param verbose 1 prints each run.
#' @return A list of two data frames: `runs` and `summary` (`policy`,
#'   `samples_per_second`, `ratio`, `repeats`, `final_loss`).
#' @examplesIf kerascraft::python_ready()
#' \donttest{
#' build <- function() {
#'   model <- keras$Sequential(c(list(keras$Input(shape = list(8L)), keras$layers$Dense(32L)),
#'                               output_layers(2)))
#'   model$compile(optimizer = "adam", loss = "sparse_categorical_crossentropy")
#'   model
#' }
#' x <- matrix(rnorm(800), 100)
#' benchmark_precision(build, list(x, rep(0:1, 50)), repeats = 1)$summary
#' }
#' @export
benchmark_precision <- function(build_fn, data, policies = c("float32", "mixed_bfloat16"),
                                epochs = 2, batch_size = 128, repeats = 3, verbose = 0) {
  if (!is.list(data) || length(data) != 2) kc_abort("data must be list(x, y).")
  args <- as_python_args(list(epochs = epochs, batch_size = batch_size, verbose = verbose))
  xy <- fit_data_args(data[[1]], data[[2]])
  out <- kc_core()$benchmark_precision(
    build_fn, reticulate::tuple(xy[[1]], xy[[2]]),
    policies = as.list(policies), epochs = args$epochs, batch_size = args$batch_size,
    repeats = as_python_args(list(n = repeats))$n, verbose = args$verbose)
  list(runs = records_to_df(out$runs), summary = records_to_df(out$summary))
}
