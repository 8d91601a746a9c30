# The tabular-network layers from R: keras3-style composition (functional and Sequential),
# statistics from a data frame, a TabM-style network that learns and round-trips.

test_that("the layers compose, learn on mtcars and round-trip through save/load", {
  skip_without_python("the layers are Keras's")
  keras <- reticulate::import("keras")
  keras$utils$set_random_seed(1L)
  x <- as_float32(as.matrix(mtcars[, -1]))
  y <- as_float32((mtcars$mpg - mean(mtcars$mpg)) / sd(mtcars$mpg))
  inputs <- keras$Input(shape = list(ncol(x)))
  h <- inputs |> layer_robust_scaling(data = mtcars[, -1]) |>
    layer_periodic_embedding(size = 4, frequencies = 8, lite = TRUE)
  h <- keras$layers$Flatten()(h) |>
    layer_efficient_ensemble(32, k = 4, activation = "relu", random_signs = TRUE)
  out <- keras$layers$Dense(1L)(h)
  expect_equal(unlist(out$shape), c(4, 1))
  model <- keras$Model(inputs, out)
  model$compile(optimizer = keras$optimizers$Adam(0.01), loss = loss_ensemble("mse"))
  predictor <- keras$Model(inputs, layer_ensemble_mean(out))
  target <- (mtcars$mpg - mean(mtcars$mpg)) / sd(mtcars$mpg)
  before <- mean((predictor$predict(x, verbose = 0L) - target)^2)
  model$fit(x, y, epochs = 60L, batch_size = 8L, verbose = 0L)
  after <- mean((predictor$predict(x, verbose = 0L) - target)^2)
  expect_lt(after, 0.5 * before)
  path <- tempfile(fileext = ".keras")
  predictor$save(path)
  loaded <- keras$saving$load_model(path)
  expect_equal(loaded$predict(x, verbose = 0L), predictor$predict(x, verbose = 0L),
               tolerance = 1e-5)
})

test_that("the layers add to a Sequential model and their bad arguments are input errors", {
  skip_without_python("the layers are Keras's")
  keras <- reticulate::import("keras")
  x <- as_float32(as.matrix(iris[, 1:4]))
  model <- keras$Sequential(list(keras$Input(shape = list(4L))))
  model |> layer_piecewise_linear_encoding(data = iris[, 1:4], bins = 4)
  expect_equal(length(model$layers), 1)
  encoded <- keras$ops$convert_to_numpy(model(x))
  expect_equal(dim(encoded), c(150, 4, 4))
  expect_true(all(encoded[, , 1] >= 0 & encoded[, , 4] <= 1 + 1e-6))
  layer <- layer_robust_scaling(clip = NULL)
  expect_true(inherits(layer, "keras.src.layers.layer.Layer"))
  expect_error(layer_periodic_embedding(size = 1.5), class = "kerascraft_input_error")
  expect_error(layer_efficient_ensemble(units = 8, k = 0), "k must be",
               class = "kerascraft_input_error")
  expect_error(layer_robust_scaling(clip = -1), "clip must be", class = "kerascraft_input_error")
})

test_that("one model trains its members on their own losses and is scored on their mean", {
  skip_without_python("the layers are Keras's")
  keras <- reticulate::import("keras")
  keras$utils$set_random_seed(3L)
  x <- as_float32(as.matrix(iris[, 1:4]))
  y <- as.integer(iris$Species) - 1L
  inputs <- keras$Input(shape = list(4L))
  out <- inputs |> layer_robust_scaling(data = iris[, 1:4]) |>
    layer_efficient_ensemble(16, k = 4, activation = "relu", random_signs = TRUE) |>
    layer_efficient_ensemble(3, k = 4, activation = "softmax") |>
    layer_ensemble_mean(members_in_training = TRUE)
  model <- keras$Model(inputs, out)
  model$compile(optimizer = keras$optimizers$AdamW(0.02),
                loss = loss_ensemble("sparse_categorical_crossentropy"),
                metrics = list(metric_ensemble("sparse_categorical_accuracy", name = "accuracy")))
  history <- model$fit(x, as_float32(y), epochs = 40L, batch_size = 16L, verbose = 0L)
  expect_true("accuracy" %in% names(history$history))
  p <- model$predict(x, verbose = 0L)
  expect_equal(dim(p), c(150, 3))
  scores <- model$evaluate(x, as_float32(y), batch_size = 150L, verbose = 0L, return_dict = TRUE)
  expect_equal(scores$accuracy, mean(max.col(p) - 1L == y), tolerance = 1e-6)
  expect_gt(scores$accuracy, 0.9)
  expect_error(metric_ensemble("auc"), "averages a value per sample",
               class = "kerascraft_input_error")
})
