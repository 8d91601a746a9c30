#' Bundled data sets, split for tuning
#'
#' scikit-learn's bundled classification data, split by class into train, validation and
#' test sets (tuning overfits the validation set, so the test set stays apart).
#' `"digits"`: 1,797 8x8 images flattened to 64 pixels scaled to \[0, 1\], 10 classes;
#' `"breast_cancer"`: 569 x 30, 2 classes; `"wine"`: 178 x 13, 3 classes (these two
#' standardised with the training split's mean and standard deviation).
#'
#' @param name `"digits"`, `"breast_cancer"` or `"wine"`.
#' @param val_fraction,test_fraction shares of the data for validation and test.
#' @param seed seed of the split.
#' @param split `FALSE` for the whole data set, unscaled, as `list(x, y)` (what [craft()]
#'   takes: it splits and scales itself).
#' @return A list: `x_train`, `y_train`, `x_val`, `y_val`, `x_test`, `y_test` (matrices and
#'   0-based integer labels); with `split = FALSE`, `x` and `y`.
#' @examplesIf kerascraft::python_ready()
#' digits <- load_digits()
#' dim(digits$x_train)
#' wine <- load_dataset("wine")
#' table(wine$y_train)
#' @export
load_dataset <- function(name = c("digits", "breast_cancer", "wine"), val_fraction = 0.2,
                         test_fraction = 0.2, seed = 0, split = TRUE) {
  name <- match.arg(name)
  out <- kc_core()$load_dataset(name, val_fraction = val_fraction, test_fraction = test_fraction,
                                seed = as_python_args(list(seed = seed))$seed, split = split)
  if (!split) out$y <- as.vector(out$y)
  out
}

#' @rdname load_dataset
#' @export
load_digits <- function(val_fraction = 0.2, test_fraction = 0.2, seed = 0) {
  load_dataset("digits", val_fraction, test_fraction, seed)
}
