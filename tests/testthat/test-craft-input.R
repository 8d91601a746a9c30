# craft()'s R side: what it says while converting, and that verbose = 0 says nothing.

messages_of <- function(expr) {
  said <- character()
  withCallingHandlers(try(expr, silent = TRUE), message = function(m) {
    said <<- c(said, conditionMessage(m))
    invokeRestart("muffleMessage")
  })
  said
}

test_that("verbose = 0 says nothing, even where craft() refuses the data", {
  skip_without_python("craft() checks its input in the core")
  x <- data.frame(a = as.numeric(1:20), b = rep(c(0.5, 1.5), 10))
  one_class <- factor(rep("only", 20))        # refused before anything trains
  dir <- tempfile("craft")
  expect_length(messages_of(kerascraft::craft(x, one_class, directory = dir, verbose = 0)), 0)
  expect_length(capture.output(try(kerascraft::craft(x, one_class, directory = dir,
                                                     verbose = 0), silent = TRUE)), 0)
  expect_error(kerascraft::craft(x, one_class, directory = dir, verbose = 0), "single class")
  expect_false(dir.exists(dir))
})
