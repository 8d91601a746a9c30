# Run tests/testthat against the installed package; exit non-zero on any failure.
library(testthat)
res <- test_dir("tests/testthat", package = "kerascraft", load_package = "installed",
                reporter = "summary", stop_on_failure = FALSE)
df <- as.data.frame(res)
failed <- sum(df$failed) + sum(df$error)
cat(sprintf("testthat: %d passed, %d failed, %d skipped\n",
            sum(df$nb) - sum(df$failed) - sum(df$skipped), failed, sum(df$skipped)))
if (failed > 0 || nrow(df) == 0) quit(status = 1)
