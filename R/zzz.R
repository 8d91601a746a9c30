#' Python modules, loaded on first use
#'
#' `keras` is the Python `keras` module and `kt` the `keras_tuner` module, for writing
#' model-building functions in R (`keras$layers$Dense(...)`, `kt$HyperModel`). Both are
#' imported the first time they are used, from the Python kerascraft finds.
#'
#' @format Python modules (reticulate proxies).
#' @examplesIf kerascraft::python_ready()
#' layer <- keras$layers$Dense(8L, activation = "relu")
#' @name python-modules
#' @aliases keras kt
NULL

#' @rdname python-modules
#' @export
keras <- NULL

#' @rdname python-modules
#' @export
kt <- NULL

.onLoad <- function(libname, pkgname) {
  kc_prefer_python()
  hooks <- list(
    priority = 10,
    before_load = function() kc_ensure_python(),
    on_error = function(e) kc_abort(conditionMessage(e), "\n", kc_setup_hint(), class = "kerascraft_dependency_error")
  )
  keras <<- reticulate::import("keras", delay_load = hooks)
  kt <<- reticulate::import("keras_tuner", delay_load = hooks)
}

# `.data` is ggplot2's data pronoun inside aes(); it is not a variable of this package
utils::globalVariables(".data")
