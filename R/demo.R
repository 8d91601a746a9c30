#' The demo: craft() on bundled digits
#'
#' Runs [craft()] on scikit-learn's bundled digits (1,797 8x8 images as 64 pixels, 10
#' classes): split, search, retraining of the best configurations, gradient-boosted trees,
#' ensemble and test scores; prints the summary (the ensemble's test accuracy next to the
#' best single model's) and writes the report to `<directory>/report.html`. About two
#' minutes on two CPU cores (see BENCHMARKS.md).
#'
#' @param directory where the work and the report go.
#' @param max_trials,epochs,top search budget, most epochs per model, configurations
#'   retrained.
#' @param overwrite start afresh (`FALSE` continues an earlier demo in `directory`).
#' @param verbose 0 silent, 1 progress and the summary.
#' @param ... further options of [craft()] given as Python values (`kind`, `seed`,
#'   `ensemble_method`, ...).
#' @return Invisibly, the [craft()] result, with `report_path`.
#' @examplesIf kerascraft::python_ready()
#' \donttest{
#' demo <- craft_demo(max_trials = 2, epochs = 5, top = 1)
#' demo$test_scores
#' }
#' @export
craft_demo <- function(directory = file.path(tempdir(), "kerascraft_demo"), max_trials = 10,
                       epochs = 50, top = 3, overwrite = TRUE, verbose = 1, ...) {
  args <- as_python_args(list(max_trials = max_trials, epochs = epochs, top = top,
                              verbose = verbose, ...))
  py <- do.call(kc_core()$craft_demo, c(list(directory = directory, overwrite = overwrite,
                                             progress = console_line), args))
  result <- new_kerascraft_craft(py)
  result$report_path <- py$report_path
  invisible(result)
}
