test_that("NumPy 2 is refused only with a reticulate that cannot convert it", {
  expect_false(kerascraft:::numpy_works_with_reticulate("2.1.0", "1.28"))
  expect_true(kerascraft:::numpy_works_with_reticulate("1.26.4", "1.28"))
  expect_true(kerascraft:::numpy_works_with_reticulate("2.1.0", "1.36.0"))
})

test_that("the pin set follows the installed reticulate", {
  expect_identical(kerascraft:::kc_pin_set("1.28"), "requirements-numpy1.txt")   # Debian 12
  expect_identical(kerascraft:::kc_pin_set("1.35.9"), "requirements-numpy1.txt")
  expect_identical(kerascraft:::kc_pin_set("1.36.0"), "requirements.txt")
  expect_identical(kerascraft:::kc_pin_set("1.41"), "requirements.txt")          # Debian 13
})

test_that("each pin set's NumPy is one its reticulate converts, and only there", {
  numpy_pin <- function(set) {
    pins <- readLines(system.file("python", set, package = "kerascraft", mustWork = TRUE))
    sub("^numpy==([0-9.]+).*", "\\1", grep("^numpy==", pins, value = TRUE))
  }
  expect_true(kerascraft:::numpy_works_with_reticulate(numpy_pin("requirements-numpy1.txt"), "1.28"))
  expect_true(kerascraft:::numpy_works_with_reticulate(numpy_pin("requirements.txt"), "1.36"))
  expect_false(kerascraft:::numpy_works_with_reticulate(numpy_pin("requirements.txt"), "1.28"))
})

test_that("a base Python without pip is refused with the Debian packages to install", {
  fake <- tempfile("python")
  writeLines(c("#!/bin/sh", 'case "$2" in *pip*) exit 1;; esac', "exit 0"), fake)
  Sys.chmod(fake, "755")
  err <- tryCatch(kerascraft:::kc_check_base_python(fake), error = conditionMessage)
  expect_match(err, "has no pip module")
  expect_match(err, "apt-get install python3-venv python3-pip")
  expect_identical(kerascraft:::kc_check_base_python(kerascraft:::kc_base_python()),
                   kerascraft:::kc_base_python())
})

test_that("library(kerascraft) starts no Python", {
  res <- run_rscript(c("library(kerascraft)", "cat('python started:', reticulate::py_available())"))
  expect_equal(res$status, 0L)
  expect_match(res$output, "python started: FALSE")
})

test_that("a Python that cannot be started gives an error that says what to run", {
  res <- run_rscript("kerascraft::tuner('random', function(hp) NULL)",
                     env = "RETICULATE_PYTHON=/nonexistent/bin/python")
  expect_false(res$status == 0L)
  expect_match(res$output, "kerascraft could not start Python")
  expect_match(res$output, "make install")
  expect_match(res$output, "install_kerascraft\\(\\)")
})

test_that("a Python without the stack names the missing modules and the fix", {
  python <- system_python()
  skip_if(is.na(python), "no system Python to make a bare environment from")
  bare <- file.path(tempfile("bare-venv"))
  status <- system2(python, c("-m", "venv", "--without-pip", bare))
  skip_if(status != 0, "could not create a bare virtual environment")
  res <- run_rscript("kerascraft::tuner('random', function(hp) NULL)",
                     env = paste0("RETICULATE_PYTHON=", file.path(bare, "bin", "python")))
  expect_false(res$status == 0L)
  expect_match(res$output, paste("kerascraft needs the Python modules numpy, pandas, sklearn,",
                                 "scipy, matplotlib, optuna, six, tensorflow, keras, keras_tuner"))
  expect_match(res$output, "make install")
  unlink(bare, recursive = TRUE)
})

test_that("a Python without Optuna is not ready, and says what is missing", {
  # everything the r-kerascraft environment has, but for the samplers of the default kind
  skip_if(is.null(kerascraft:::kc_preferred_python()), "r-kerascraft environment not installed")
  hide <- tempfile("no-optuna")
  dir.create(hide)
  writeLines(c(
    "import sys",
    "class _NoOptuna:",
    "    def find_spec(self, name, path=None, target=None):",
    "        if name.split('.')[0] == 'optuna':",
    "            raise ModuleNotFoundError(\"No module named 'optuna'\", name='optuna')",
    "sys.meta_path.insert(0, _NoOptuna())"), file.path(hide, "sitecustomize.py"))
  res <- run_rscript("r <- kerascraft::python_ready(); cat(r, attr(r, 'reason'))",
                     env = paste0("PYTHONPATH=", hide))
  expect_match(res$output, "FALSE kerascraft needs the Python module optuna, missing from")
})

test_that("an empty RETICULATE_PYTHON counts as unset", {
  skip_if(is.null(kerascraft:::kc_preferred_python()), "r-kerascraft environment not installed")
  res <- run_rscript("cat('ready:', kerascraft::python_ready())", env = "RETICULATE_PYTHON=")
  expect_match(res$output, "ready: TRUE")
})

test_that("python_ready() says FALSE with the reason instead of failing", {
  res <- run_rscript("r <- kerascraft::python_ready(); cat(r, attr(r, 'reason'))",
                     env = "RETICULATE_PYTHON=/nonexistent/bin/python")
  expect_equal(res$status, 0L)
  expect_match(res$output, "FALSE kerascraft could not start Python")
})

test_that("the r-kerascraft environment is found without any setting", {
  skip_if(is.null(kerascraft:::kc_preferred_python()), "r-kerascraft environment not installed")
  res <- run_rscript(c("Sys.unsetenv(c('RETICULATE_PYTHON', 'KERASCRAFT_PYTHON'))",
                       "stopifnot(kerascraft::python_ready())",
                       "cat('python:', reticulate::py_exe())"))
  expect_equal(res$status, 0L)
  expect_match(res$output, "python: .*r-kerascraft/bin/python")
})

test_that("where Python is required, a test that needs it fails instead of skipping", {
  dir <- tempfile("suite")
  dir.create(dir)
  file.copy(normalizePath("helper-python.R"), dir)
  writeLines(c('test_that("needs Python", {', '  skip_without_python("needs Python")',
               '  expect_true(TRUE)', '})'), file.path(dir, "test-needs.R"))
  code <- sprintf(paste0("r <- as.data.frame(testthat::test_dir(%s, reporter = 'silent', ",
                         "stop_on_failure = FALSE)); cat('skipped', sum(r$skipped), 'errors', ",
                         "sum(r$error))"), deparse(dir))
  optional <- run_rscript(code, env = c("RETICULATE_PYTHON=/nonexistent/bin/python",
                                        "KERASCRAFT_REQUIRE_PYTHON="))  # make test sets it
  expect_match(optional$output, "skipped 1 errors 0")
  required <- run_rscript(code, env = c("RETICULATE_PYTHON=/nonexistent/bin/python",
                                        "KERASCRAFT_REQUIRE_PYTHON=1"))
  expect_match(required$output, "skipped 0 errors 1")
})
