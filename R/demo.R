#' A first end-to-end run on bundled data
#'
#' Tunes a two-layer dense net, written in R, on scikit-learn's bundled digits (8x8
#' images, 10 classes) split into train / validation / test; prints the best
#' hyperparameters and the test accuracy of the best model.
#'
#' @param kind tuner kind, see [tuner()].
#' @param max_trials trial budget.
#' @param epochs most epochs per trial (early stopping on the validation loss ends most
#'   trials sooner).
#' @param directory where the trials are saved.
#' @param verbose 0 silent, 1 one line per trial and the summary.
#' @return Invisibly, a list: `results` (data frame), `best_hyperparameters` (named list),
#'   `test_accuracy`.
#' @examplesIf kerascraft::python_ready()
#' \donttest{
#' craft_demo(max_trials = 2, epochs = 5)
#' }
#' @export
craft_demo <- function(kind = "bayesian", max_trials = 6, epochs = 20,
                       directory = file.path(tempdir(), "kerascraft_demo"), verbose = 1) {
  digits <- load_digits(seed = 1)

  build_model <- function(hp) {
    units <- hp$Int("units", min_value = 16, max_value = 64, step = 16)
    optimizer <- hp$Choice("optimizer", c("rmsprop", "adam"))
    model <- keras$Sequential(list(
      keras$Input(shape = list(64L)),
      keras$layers$Dense(units, activation = "relu"),
      keras$layers$Dense(10L, activation = "softmax")
    ))
    model$compile(optimizer = optimizer, loss = "sparse_categorical_crossentropy",
                  metrics = list("accuracy"))
    model
  }

  t <- tuner(kind, build_model, objective = "val_accuracy", max_trials = max_trials,
             directory = directory, overwrite = TRUE, seed = 1)
  search(t, digits$x_train, digits$y_train,
         validation_data = list(digits$x_val, digits$y_val),
         epochs = epochs, batch_size = 64, verbose = verbose,
         callbacks = keras$callbacks$EarlyStopping(monitor = "val_loss", patience = 5L))
  best_hp <- best_hyperparameters(t, 1)[[1]]$values
  model <- best_models(t, 1)[[1]]
  test_accuracy <- model$evaluate(digits$x_test, digits$y_test, verbose = 0L)[[2]]
  if (verbose > 0) {
    cat("best hyperparameters:",
        paste(names(best_hp), vapply(best_hp, format, ""), sep = " = ", collapse = ", "), "\n")
    cat(sprintf("test accuracy of the best model: %.4f\n", test_accuracy))
  }
  invisible(list(results = results(t), best_hyperparameters = best_hp,
                 test_accuracy = test_accuracy))
}
