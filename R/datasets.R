#' Digits, split for tuning
#'
#' scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), flattened to 64 pixels
#' scaled to \[0, 1\], split by class into train, validation and test sets. Tuning overfits
#' the validation set, so the test set stays apart.
#'
#' @param val_fraction,test_fraction shares of the data for validation and test.
#' @param seed seed of the split.
#' @return A list: `x_train`, `y_train`, `x_val`, `y_val`, `x_test`, `y_test` (matrices of
#'   64 columns and integer labels 0-9).
#' @examplesIf kerascraft::python_ready()
#' digits <- load_digits()
#' dim(digits$x_train)
#' @export
load_digits <- function(val_fraction = 0.2, test_fraction = 0.2, seed = 0) {
  kc_core()$load_digits(val_fraction = val_fraction, test_fraction = test_fraction,
                        seed = as_python_args(list(seed = seed))$seed)
}
