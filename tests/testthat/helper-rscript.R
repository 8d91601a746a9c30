# Run R code in a fresh Rscript process (so that Python has not started there yet),
# with extra environment variables; returns list(status, output).
run_rscript <- function(code, env = character()) {
  file <- tempfile(fileext = ".R")
  writeLines(code, file)
  out <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), file, stdout = TRUE,
                                  stderr = TRUE, env = env))
  list(status = attr(out, "status") %||% 0L, output = paste(out, collapse = "\n"))
}

`%||%` <- function(a, b) if (is.null(a)) b else a

system_python <- function() {
  found <- c(Filter(file.exists, "/usr/bin/python3"), Sys.which("python3"))
  found[nzchar(found)][1]
}
