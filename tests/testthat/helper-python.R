# Skip a test that needs kerascraft's Python when it is not ready -- except where the run
# says Python must be there (`make test` installs it and sets KERASCRAFT_REQUIRE_PYTHON=1):
# there a missing Python fails the test instead of letting the run pass untested.
skip_without_python <- function(what) {
  ready <- kerascraft::python_ready()
  if (isTRUE(ready)) return(invisible(TRUE))
  if (identical(Sys.getenv("KERASCRAFT_REQUIRE_PYTHON"), "1")) {
    stop("kerascraft's Python is not ready, and this run requires it ",
         "(KERASCRAFT_REQUIRE_PYTHON=1): ", attr(ready, "reason"), call. = FALSE)
  }
  testthat::skip(what)
}
