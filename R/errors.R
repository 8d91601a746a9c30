# kerascraft's errors are classed conditions, so code can catch them by kind:
#   kerascraft_input_error       bad input: the message says what to change in the call
#   kerascraft_dependency_error  something to install (a Python module, ggplot2, Python)
#   kerascraft_error             every error of kerascraft, the two above included
# Errors of the Python core arrive as Python exceptions; kc_core()'s functions turn them
# into these conditions with the core's message (ValueError and TypeError are input
# errors, ImportError a dependency error), so R and Python users read the same words.

kc_condition <- function(message, class = "kerascraft_input_error") {
  structure(class = unique(c(class, "kerascraft_error", "error", "condition")),
            list(message = message, call = NULL))
}

# stop() for kerascraft's own errors: the message pasted from `...` as stop() does.
kc_abort <- function(..., class = "kerascraft_input_error") {
  stop(kc_condition(paste0(...), class))
}

# Python exception classes -> kerascraft's condition classes.
kc_python_error_classes <- c(
  ValueError = "kerascraft_input_error", TypeError = "kerascraft_input_error",
  ImportError = "kerascraft_dependency_error",
  ModuleNotFoundError = "kerascraft_dependency_error"
)

# Run `expr` (a call into the core); a Python exception becomes a kerascraft condition.
with_core_errors <- function(expr) {
  tryCatch(expr, error = function(e) {
    if (inherits(e, "kerascraft_error")) stop(e)
    parsed <- python_error(e)
    if (is.null(parsed)) stop(e)
    stop(kc_condition(parsed$message, kc_python_error_classes[parsed$type] %|NA|% "kerascraft_error"))
  })
}

# The Python exception's type and message from an R error reticulate made: newer
# reticulate classes it (python.builtin.ValueError) and older only names it at the start
# of the message; both may append a pointer to the traceback, dropped here.
python_error <- function(e) {
  message <- conditionMessage(e)
  found <- regmatches(message, regexec("^([A-Za-z_][A-Za-z0-9_]*(Error|Exception)): ", message))[[1]]
  type <- if (length(found) > 0) found[2] else NA_character_
  builtin <- grep("^python\\.builtin\\.[A-Za-z]+(Error|Exception)$", class(e), value = TRUE)
  if (is.na(type) && length(builtin) > 0) type <- sub("^python\\.builtin\\.", "", builtin[1])
  if (is.na(type)) return(NULL)
  message <- sub(paste0("^", type, ": "), "", message)
  message <- sub("(?s)\n*(Run `reticulate::py_last_error\\(\\)` for details|Detailed traceback:).*$",
                 "", message, perl = TRUE)
  list(type = type, message = message)
}

`%|NA|%` <- function(x, y) if (length(x) == 0 || is.na(x)) y else unname(x)

# What kc_core() returns: the core module, whose functions signal kerascraft conditions.
kc_wrap_core <- function(module) structure(list(module = module), class = "kerascraft_core")

#' @export
`$.kerascraft_core` <- function(x, name) {
  value <- .subset2(x, "module")[[name]]
  if (!is.function(value)) return(value)
  function(...) with_core_errors(value(...))
}
