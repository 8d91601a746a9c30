# Finding, checking and loading the Python side. One place for: which Python, whether its
# stack is complete, and the error that says what to run when it is not.

# The virtual environment `make install` and install_kerascraft() create, named the way
# the keras and tensorflow R packages name theirs (r-keras, r-tensorflow).
kerascraft_envname <- "r-kerascraft"

.kc <- new.env(parent = emptyenv())

# Python modules the core needs: the core's list (kerascraft.REQUIRED_MODULES, read from
# the package's own Python files: importing kerascraft loads no other module), with the
# backend's module before keras (KERAS_BACKEND).
kc_required_modules <- function() {
  path <- system.file("python", package = "kerascraft", mustWork = TRUE)
  modules <- unlist(reticulate::import_from_path("kerascraft", path = path)$REQUIRED_MODULES)
  backend <- Sys.getenv("KERAS_BACKEND", unset = "tensorflow")
  append(modules, backend, after = match("keras", modules) - 1L)
}

kc_setup_hint <- function() {
  paste0(
    "To set up kerascraft's Python environment, run `make install` in the kerascraft ",
    "source folder, or `kerascraft::install_kerascraft()` in R, then restart R. ",
    "To use another Python, set RETICULATE_PYTHON (or KERASCRAFT_PYTHON) to its path."
  )
}

# Which Python kerascraft should prefer, without starting it: KERASCRAFT_PYTHON, else the
# r-kerascraft virtual environment when it exists. RETICULATE_PYTHON, when set, wins
# inside reticulate itself. NULL when there is nothing to prefer.
kc_preferred_python <- function() {
  explicit <- Sys.getenv("KERASCRAFT_PYTHON", unset = "")
  if (nzchar(explicit)) return(explicit)
  env_python <- file.path(reticulate::virtualenv_root(), kerascraft_envname, "bin", "python")
  if (file.exists(env_python)) return(path.expand(env_python))  # not normalizePath: it would resolve the venv's symlink to the base Python
  NULL
}

# Registered from .onLoad; starts nothing.
kc_prefer_python <- function() {
  if (reticulate::py_available(initialize = FALSE)) return(invisible(NULL))
  # set but empty means "not set" to a user; reticulate would look for a Python named ""
  if (identical(Sys.getenv("RETICULATE_PYTHON", unset = NA), "")) Sys.unsetenv("RETICULATE_PYTHON")
  if (nzchar(Sys.getenv("RETICULATE_PYTHON"))) return(invisible(NULL))
  python <- kc_preferred_python()
  if (!is.null(python)) reticulate::use_python(python, required = TRUE)
  invisible(python)
}

#' Is a NumPy version usable with a reticulate version?
#'
#' reticulate converts NumPy 2 arrays to R only from version 1.36 on; older reticulate
#' (Debian 12 ships 1.28) needs NumPy 1.x.
#'
#' @param numpy,reticulate version strings.
#' @return `TRUE` or `FALSE`.
#' @keywords internal
#' @noRd
numpy_works_with_reticulate <- function(numpy, reticulate = as.character(utils::packageVersion("reticulate"))) {
  !(numeric_version(numpy) >= "2.0" && numeric_version(reticulate) < "1.36")
}

# Start Python (if needed) and check that kerascraft can run on it; stop with an error that
# says what to run when it cannot. Cached once it has succeeded.
kc_ensure_python <- function() {
  if (isTRUE(.kc$checked)) return(invisible(TRUE))
  kc_prefer_python()
  config <- tryCatch(reticulate::py_config(), error = function(e) e)
  started <- !inherits(config, "error") &&
    tryCatch(reticulate::py_available(initialize = TRUE), error = function(e) FALSE)
  if (!started) {
    why <- if (inherits(config, "error")) conditionMessage(config) else "Python could not be started."
    kc_abort("kerascraft could not start Python: ", why, "\n", kc_setup_hint(), class = "kerascraft_dependency_error")
  }
  python <- reticulate::py_exe()
  numpy <- reticulate::py_eval(
    "__import__('importlib.util').util.find_spec('numpy') and __import__('importlib.metadata').metadata.version('numpy')"
  )
  if (is.character(numpy) && !numpy_works_with_reticulate(numpy)) {
    kc_abort(sprintf(paste0(
      "NumPy %s in %s is too new for reticulate %s (NumPy 2 needs reticulate >= 1.36). ",
      "Install NumPy 1.26 there: `%s -m pip install numpy==1.26.4`, or run `make install`."),
      numpy, python, utils::packageVersion("reticulate"), python), class = "kerascraft_dependency_error")
  }
  missing <- Filter(function(m) !reticulate::py_module_available(m), kc_required_modules())
  if (length(missing) > 0) {
    kc_abort(sprintf("kerascraft needs the Python module%s %s, missing from %s.\n%s",
                 if (length(missing) > 1) "s" else "", paste(missing, collapse = ", "),
                 python, kc_setup_hint()), class = "kerascraft_dependency_error")
  }
  .kc$checked <- TRUE
  invisible(TRUE)
}

# The Python core (the `kerascraft` package in inst/python), imported on first use.
kc_core <- function() {
  if (!is.null(.kc$core)) return(.kc$core)
  kc_ensure_python()
  path <- system.file("python", package = "kerascraft", mustWork = TRUE)
  .kc$core <- kc_wrap(reticulate::import_from_path("kerascraft", path = path))
  .kc$core
}

# The core's data rules (kerascraft.data): which columns are numbers, and the wording of
# the errors about them, shared with R's conversion (convert.R).
kc_data <- function() {
  kc_core()
  kc_wrap(reticulate::import("kerascraft.data"))
}

# The same module with results left as Python objects (for NumPy arrays R must not
# convert back to doubles).
kc_core_unconverted <- function() {
  kc_core()
  kc_wrap(reticulate::import("kerascraft", convert = FALSE))
}

#' Is kerascraft's Python side ready?
#'
#' Finds Python the way every kerascraft function does and checks the modules it needs,
#' starting Python if it is not running yet. Use it to guard code that needs Python, as
#' the examples in this package do.
#'
#' @return `TRUE` when Python and the stack kerascraft needs are available, else `FALSE`
#'   (with the reason as attribute `"reason"`).
#' @examples
#' if (python_ready()) message("kerascraft can run here")
#' @export
python_ready <- function() {
  ok <- tryCatch(kc_ensure_python(), error = function(e) e)
  if (inherits(ok, "error")) return(structure(FALSE, reason = conditionMessage(ok)))
  TRUE
}
