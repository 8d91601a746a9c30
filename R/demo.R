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
#' @param ... further options of [craft()].
#' @return Invisibly, the [craft()] result, with `report_path`.
#' @examplesIf kerascraft::python_ready()
#' \donttest{
#' demo <- craft_demo(max_trials = 2, epochs = 5, top = 1)
#' demo$test_scores
#' }
#' @export
craft_demo <- function(directory = file.path(tempdir(), "kerascraft_demo"), max_trials = 10,
                       epochs = 50, top = 3, overwrite = TRUE, verbose = 1, ...) {
  digits <- load_dataset("digits", split = FALSE)
  result <- craft(digits$x, digits$y, max_trials = max_trials, epochs = epochs, top = top,
                  overwrite = overwrite, directory = directory, verbose = verbose, ...)
  result$report_path <- report(result, file.path(directory, "report.html"))
  if (verbose > 0) cat("report: ", result$report_path, "\n", sep = "")
  invisible(result)
}
