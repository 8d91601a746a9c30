#' Install kerascraft's Python environment
#'
#' Creates (or updates) the virtual environment `r-kerascraft` with the pinned Python
#' stack kerascraft is tested with (`inst/python/requirements.txt`: TensorFlow, Keras,
#' KerasTuner, NumPy 1.26 for reticulate, ...). kerascraft then uses it without further
#' set-up, as the keras and tensorflow R packages do with theirs. `make install` in the
#' source folder creates the same environment.
#'
#' kerascraft looks for Python in this order: `RETICULATE_PYTHON`; `KERASCRAFT_PYTHON`;
#' the `r-kerascraft` environment under `reticulate::virtualenv_root()`; whatever
#' reticulate finds otherwise.
#'
#' @param envname name of the virtual environment.
#' @param python the Python to create it from (default: Debian's `/usr/bin/python3.11`,
#'   as `make install` uses, else `python3.11` or `python3` on the `PATH`).
#' @param new_env `TRUE` deletes an existing environment of that name first.
#' @return The path of the environment's Python, invisibly.
#' @examples
#' \dontrun{
#' install_kerascraft()
#' }
#' @export
install_kerascraft <- function(envname = kerascraft_envname, python = NULL, new_env = FALSE) {
  requirements <- system.file("python", "requirements.txt", package = "kerascraft",
                              mustWork = TRUE)
  if (new_env && reticulate::virtualenv_exists(envname)) {
    reticulate::virtualenv_remove(envname, confirm = FALSE)
  }
  if (!reticulate::virtualenv_exists(envname)) {
    candidates <- c(Filter(file.exists, "/usr/bin/python3.11"), Sys.which(c("python3.11", "python3")))
    python <- python %||% Filter(nzchar, candidates)[1]
    if (is.na(python) || !nzchar(python)) {
      stop("No Python 3 found to create the environment from; install Python 3.11 ",
           "(Debian: apt-get install python3.11-venv) or pass `python =`.", call. = FALSE)
    }
    reticulate::virtualenv_create(envname, python = python, packages = NULL)
  }
  reticulate::virtualenv_install(envname, packages = c("-r", requirements))
  path <- reticulate::virtualenv_python(envname)
  if (reticulate::py_available(initialize = FALSE)) {
    message("Python is already running in this R session: restart R to use ", path, ".")
  }
  invisible(path)
}
