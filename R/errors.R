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

# Python exception classes -> kerascraft's condition classes. The core's own input errors
# (kerascraft.errors.InputError and its subclasses: InputTypeError, FatalInputError) are
# named so that their class name ends in "InputError" or "InputTypeError": that is how R
# knows them, since old reticulate gives only the exception's own class name.
kc_python_error_classes <- c(
  ValueError = "kerascraft_input_error", TypeError = "kerascraft_input_error",
  ImportError = "kerascraft_dependency_error",
  ModuleNotFoundError = "kerascraft_dependency_error"
)

kc_error_class <- function(types) {
  if (any(grepl("Input(Type)?Error$", types))) return("kerascraft_input_error")
  known <- kc_python_error_classes[intersect(types, names(kc_python_error_classes))]
  if (length(known) > 0) unname(known[1]) else "kerascraft_error"
}

# Run `expr` (a call into the core); a Python exception becomes a kerascraft condition.
with_core_errors <- function(expr) {
  tryCatch(expr, error = function(e) {
    if (inherits(e, "kerascraft_error")) stop(e)
    parsed <- python_error(e)
    if (is.null(parsed)) stop(e)
    stop(kc_condition(parsed$message, kc_error_class(parsed$types)))
  })
}

# The Python exception's type names and message from an R error reticulate made: older
# reticulate names the exception's class at the start of the message; newer reticulate
# also classes the condition by the exception's classes (python.builtin.ValueError, or
# module.Class for others). Both may append a pointer to the traceback, dropped here.
# Returns list(type, types, message), type being the exception's own class name.
python_error <- function(e) {
  message <- conditionMessage(e)
  found <- regmatches(message, regexec("^([A-Za-z_][A-Za-z0-9_.]*(Error|Exception)): ", message))[[1]]
  type <- if (length(found) > 0) sub(".*\\.", "", found[2]) else NA_character_
  # Python classes as newer reticulate names them: python.builtin.ValueError, a.b.InputError
  classes <- grep("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+$", class(e), value = TRUE)
  classes <- grep("(Error|Exception)$", classes, value = TRUE)
  types <- unique(c(type[!is.na(type)], sub(".*\\.", "", classes)))
  if (length(types) == 0) return(NULL)
  if (is.na(type)) type <- types[1]
  message <- sub(paste0("^", found[2] %|NA|% type, ": "), "", message)
  message <- sub("(?s)\n*(Run `reticulate::py_last_error\\(\\)` for details|Detailed traceback:).*$",
                 "", message, perl = TRUE)
  list(type = type, types = types, message = message)
}

`%|NA|%` <- function(x, y) if (length(x) == 0 || is.na(x)) y else unname(x)

# A Python object (the core module, a tuner, a result) whose functions and methods, called
# from R, signal kerascraft conditions: every call R makes into the core goes through one
# (kc_core() is the core module so wrapped).
kc_wrap <- function(object) structure(list(module = object), class = "kerascraft_core")

#' @export
`$.kerascraft_core` <- function(x, name) {
  value <- .subset2(x, "module")[[name]]
  if (!is.function(value)) return(value)
  function(...) with_core_errors(value(...))
}
