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
#' @return A list: `x_train`, `y_train`, `x_val`, `y_val`, `x_test`, `y_test` (matrices and
#'   0-based integer labels).
#' @examplesIf kerascraft::python_ready()
#' digits <- load_digits()
#' dim(digits$x_train)
#' wine <- load_dataset("wine")
#' table(wine$y_train)
#' @export
load_dataset <- function(name = c("digits", "breast_cancer", "wine"), val_fraction = 0.2,
                         test_fraction = 0.2, seed = 0) {
  name <- match.arg(name)
  kc_core()$load_dataset(name, val_fraction = val_fraction, test_fraction = test_fraction,
                         seed = as_python_args(list(seed = seed))$seed)
}

#' @rdname load_dataset
#' @export
load_digits <- function(val_fraction = 0.2, test_fraction = 0.2, seed = 0) {
  load_dataset("digits", val_fraction, test_fraction, seed)
}
