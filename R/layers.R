# Keras layers for networks on tables (kerascraft.layers), in keras3's style: each
# function makes the layer and, given `object`, composes it: a Sequential model gets it
# added, a tensor of the functional API is passed through it.

kc_layers <- function() kc_wrap(kc_core()$layers)

# `layer` composed with `object` as keras3's layer functions do.
compose_layer <- function(object, layer) {
  if (missing(object) || is.null(object)) return(layer)
  if (inherits(object, "keras.src.models.sequential.Sequential") ||
      inherits(object, "keras.models.Sequential")) {
    object$add(layer)
    return(invisible(object))
  }
  layer(object)
}

# The training rows a layer's statistics come from, as a numeric matrix.
adapt_data <- function(data) {
  if (is.data.frame(data)) data <- data.matrix(data)
  if (is.null(dim(data))) data <- matrix(data, ncol = 1)
  storage.mode(data) <- "double"
  data
}

#' Layers for networks on tables
#'
#' Keras 3 layers that close much of the gap between dense networks and gradient-boosted
#' trees on tables (their papers' reference code is PyTorch): they run on TensorFlow and
#' JAX, and are saved and loaded with the model (`model$save()`,
#' `keras$saving$load_model()`, with kerascraft loaded).
#'
#' - `layer_robust_scaling()`: per column `(x - median) / (q75 - q25)`, then the smooth
#'   clip `z / sqrt(1 + (z / clip)^2)` (RealMLP, Holzmüller et al. 2024). Its statistics
#'   come from `data`, the training rows.
#' - `layer_periodic_embedding()`: each column as `ReLU(W [cos(2 pi c x), sin(2 pi c x)] +
#'   b)` with trained frequencies `c` (Gorishniy et al. 2022); output `(batch, columns,
#'   size)`: add `keras$layers$Flatten()` before a dense layer.
#' - `layer_piecewise_linear_encoding()`: each column's position in `bins` bins whose edges
#'   are quantiles of `data` (Gorishniy et al. 2022); output `(batch, columns, bins)`.
#' - `layer_efficient_ensemble()`: a dense layer of `k` members sharing one weight matrix,
#'   each with its own scalings and bias (TabM, Gorishniy et al. 2024); output `(batch, k,
#'   units)`. With `k = 1` it is a plain dense layer. Train with `loss_ensemble()` (each
#'   member on its own loss) and predict through `layer_ensemble_mean()` (the members'
#'   predictions averaged). With `members_in_training = TRUE` one model does both: it
#'   passes the members' predictions to the loss while it trains and gives their mean to
#'   `predict()`, `evaluate()` and the validation loss; compile its metrics with
#'   `metric_ensemble()`. craft()'s default network for tables is built this way.
#'
#' @param object a Sequential model to add the layer to, a tensor to pass through it, or
#'   missing/`NULL` for the layer itself.
#' @param data training rows (a matrix or data frame of numbers) the layer's statistics
#'   are computed from; `NULL`: call the layer's `$adapt(data)` before using it.
#' @param clip where the smooth clip bends (`NULL`: no clipping).
#' @param size,frequencies,sigma,lite the embedding's size per column, the number of
#'   frequencies and their initial spread, and `lite = TRUE` for one dense map shared by
#'   all columns.
#' @param activation activation after the layer.
#' @param bins the number of bins per column.
#' @param units,k output units per member and the number of members.
#' @param random_signs start the members' input scalings at random +1/-1 (TabM's choice
#'   for the first layer) instead of 1.
#' @param members_in_training pass the members' predictions through unaveraged while
#'   the model trains (for `loss_ensemble()`).
#' @param loss a Keras loss (name or object) applied to every member.
#' @param metric a Keras metric that averages a value per sample, by name
#'   (`"sparse_categorical_accuracy"`, `"mean_absolute_error"`), computed on the members'
#'   mean.
#' @param name the metric's name in the training history (`"accuracy"` gives
#'   `val_accuracy`).
#' @param ... further arguments of the Keras layer (`name`, `dtype`).
#' @return The layer, or `object` with the layer added or applied.
#' @examples
#' if (python_ready()) {
#'   keras <- reticulate::import("keras")
#'   x <- as_float32(as.matrix(mtcars[, -1]))
#'   inputs <- keras$Input(shape = list(ncol(x)))
#'   h <- inputs |> layer_robust_scaling(data = mtcars[, -1]) |>
#'     layer_periodic_embedding(size = 8, lite = TRUE)
#'   h <- keras$layers$Flatten()(h) |>
#'     layer_efficient_ensemble(64, k = 8, activation = "relu", random_signs = TRUE)
#'   out <- keras$layers$Dense(1L)(h)                  # one output per member
#'   model <- keras$Model(inputs, out)
#'   model$compile(optimizer = "adam", loss = loss_ensemble("mse"))
#'   model$fit(x, as_float32(mtcars$mpg), epochs = 2L, verbose = 0L)
#'   predictor <- keras$Model(inputs, layer_ensemble_mean(out))
#' }
#' @name tabular_layers
NULL

#' @rdname tabular_layers
#' @export
layer_robust_scaling <- function(object, data = NULL, clip = 3, ...) {
  layer <- kc_layers()$RobustScaling(clip = clip, ...)
  if (!is.null(data)) layer$adapt(adapt_data(data))
  compose_layer(object, layer)
}

#' @rdname tabular_layers
#' @export
layer_periodic_embedding <- function(object, size = 16, frequencies = 48, sigma = 0.1,
                                     lite = FALSE, activation = "relu", ...) {
  layer <- kc_layers()$PeriodicEmbedding(size = as_whole(size), frequencies = as_whole(frequencies),
                                         sigma = sigma, lite = lite, activation = activation, ...)
  compose_layer(object, layer)
}

#' @rdname tabular_layers
#' @export
layer_piecewise_linear_encoding <- function(object, data = NULL, bins = 16, ...) {
  layer <- kc_layers()$PiecewiseLinearEncoding(bins = as_whole(bins), ...)
  if (!is.null(data)) layer$adapt(adapt_data(data))
  compose_layer(object, layer)
}

#' @rdname tabular_layers
#' @export
layer_efficient_ensemble <- function(object, units, k = 32, activation = NULL,
                                     random_signs = FALSE, ...) {
  layer <- kc_layers()$EfficientEnsemble(as_whole(units), k = as_whole(k),
                                         activation = activation,
                                         random_signs = random_signs, ...)
  compose_layer(object, layer)
}

#' @rdname tabular_layers
#' @export
layer_ensemble_mean <- function(object, members_in_training = FALSE, ...) {
  compose_layer(object, kc_layers()$EnsembleMean(members_in_training = members_in_training,
                                                  ...))
}

#' @rdname tabular_layers
#' @export
loss_ensemble <- function(loss, ...) kc_layers()$EnsembleLoss(loss, ...)

#' @rdname tabular_layers
#' @export
metric_ensemble <- function(metric, name = NULL, ...) {
  kc_layers()$EnsembleMetric(metric, name = name, ...)
}
