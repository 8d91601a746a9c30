#' Install kerascraft's Python environment
#'
#' Creates (or updates) the virtual environment `r-kerascraft` with the pinned Python
#' stack kerascraft is tested with: TensorFlow, Keras, KerasTuner, and the NumPy line the
#' installed reticulate can convert (see [kc_pin_set()]: today's releases with NumPy 2 for
#' reticulate >= 1.36, as on Debian 13; NumPy 1.26 and matching releases for older
#' reticulate, as Debian 12's 1.28). kerascraft then uses it without further set-up, as the
#' keras and tensorflow R packages do with theirs. `make install` in the source folder
#' creates the same environment.
#'
#' kerascraft looks for Python in this order: `RETICULATE_PYTHON`; `KERASCRAFT_PYTHON`;
#' the `r-kerascraft` environment under `reticulate::virtualenv_root()`; whatever
#' reticulate finds otherwise.
#'
#' @param envname name of the virtual environment.
#' @param python the Python to create it from (default: the system's `/usr/bin/python3`,
#'   as `make install` uses (3.11 on Debian 12, 3.13 on Debian 13), else `python3` on the
#'   `PATH`). It needs the `venv` and `pip` modules (Debian: `python3-venv python3-pip`).
#' @param new_env `TRUE` deletes an existing environment of that name first.
#' @return The path of the environment's Python, invisibly.
#' @examples
#' \dontrun{
#' install_kerascraft()
#' }
#' @export
install_kerascraft <- function(envname = kerascraft_envname, python = NULL, new_env = FALSE) {
  requirements <- system.file("python", kc_pin_set(), package = "kerascraft", mustWork = TRUE)
  if (new_env && reticulate::virtualenv_exists(envname)) {
    reticulate::virtualenv_remove(envname, confirm = FALSE)
  }
  if (!reticulate::virtualenv_exists(envname)) {
    python <- kc_check_base_python(python %||% kc_base_python())
    reticulate::virtualenv_create(envname, python = python, packages = NULL)
  }
  reticulate::virtualenv_install(envname, packages = c("-r", requirements))
  path <- reticulate::virtualenv_python(envname)
  if (reticulate::py_available(initialize = FALSE)) {
    message("Python is already running in this R session: restart R to use ", path, ".")
  }
  invisible(path)
}

#' Which pinned Python stack fits this R
#'
#' reticulate converts NumPy 2 arrays to R only from 1.36 on (see
#' `numpy_works_with_reticulate()`), so the pin set follows the installed reticulate:
#' `requirements.txt` (today's releases, NumPy 2) for 1.36 and newer,
#' `requirements-numpy1.txt` (NumPy 1.26 and the releases that accept it) before. `make
#' install` asks this function too (`tools/pin-set.R`), so both make the same choice.
#'
#' @param reticulate the reticulate version to choose for.
#' @return The file name of the pin set, in the package's `python` folder.
#' @keywords internal
kc_pin_set <- function(reticulate = as.character(utils::packageVersion("reticulate"))) {
  if (numpy_works_with_reticulate("2.0", reticulate)) "requirements.txt" else "requirements-numpy1.txt"
}

# The system Python an environment is made from: Debian's python3 (3.11 on Debian 12, 3.13 on
# Debian 13, the one whose libpython reticulate can load).
kc_base_python <- function() {
  candidates <- c(Filter(file.exists, "/usr/bin/python3"), Sys.which("python3"))
  python <- Filter(nzchar, candidates)[1]
  if (is.na(python)) {
    kc_abort("No Python 3 found to create the environment from. On Debian: ",
         "`apt-get install python3 python3-venv python3-dev python3-pip`; ",
         "or pass `python =` to install_kerascraft().", class = "kerascraft_dependency_error")
  }
  unname(python)
}

# An environment needs venv and pip in its base Python (reticulate >= 1.41 refuses a base
# without pip; Debian splits both off python3).
kc_check_base_python <- function(python) {
  lacks <- Filter(function(module) {
    status <- suppressWarnings(system2(python, c("-c", shQuote(paste("import", module))),
                                       stdout = FALSE, stderr = FALSE))
    status != 0
  }, c("venv", "pip"))
  if (length(lacks) > 0) {
    kc_abort(sprintf("%s has no %s module, which making an environment needs. On Debian: ",
                 python, paste(lacks, collapse = " or ")),
         "`apt-get install python3-venv python3-pip`; or pass another `python =` to ",
         "install_kerascraft().", class = "kerascraft_dependency_error")
  }
  invisible(python)
}
