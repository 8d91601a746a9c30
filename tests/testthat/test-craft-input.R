# craft()'s R side: what it says while converting, and that verbose = 0 says nothing.

messages_of <- function(expr) {
  said <- character()
  withCallingHandlers(try(expr, silent = TRUE), message = function(m) {
    said <<- c(said, conditionMessage(m))
    invokeRestart("muffleMessage")
  })
  said
}

test_that("verbose = 0 silences the conversion notes; verbose = 1 keeps them", {
  skip_without_python("craft() checks its input in the core")
  x <- data.frame(a = as.numeric(1:20), b = rep(c(0.5, 1.5), 10))
  one_class <- factor(rep("only", 20))        # refused before anything trains
  dir <- tempfile("craft")
  expect_length(messages_of(kerascraft::craft(x, one_class, directory = dir, verbose = 0)), 0)
  said <- messages_of(kerascraft::craft(x, one_class, directory = dir, verbose = 1))
  expect_true(any(grepl("x: data frame of 2 numeric columns used as a matrix", said)))
  expect_error(kerascraft::craft(x, one_class, directory = dir, verbose = 0), "single class")
  expect_false(dir.exists(dir))
})
