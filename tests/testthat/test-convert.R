test_that("whole doubles become integers where Python wants integers", {
  args <- kerascraft:::as_python_args(list(epochs = 10, batch_size = 128, max_trials = 5L,
                                           learning_rate = 1e-3, seed = NULL, name = "x"))
  expect_identical(args$epochs, 10L)
  expect_identical(args$batch_size, 128L)
  expect_identical(args$max_trials, 5L)
  expect_identical(args$learning_rate, 1e-3)   # not an integer argument: untouched
  expect_null(args$seed)
  expect_identical(args$name, "x")
})

test_that("a fractional integer argument is an error that names it", {
  expect_error(kerascraft:::as_python_args(list(epochs = 2.5)),
               "`epochs` must be a whole number, got 2.5")
  expect_error(kerascraft:::as_python_args(list(batch_size = NA_real_)),
               "`batch_size` must be a whole number")
})

test_that("fit data: data frames become matrices, factors 0-based codes, NA is refused", {
  expect_message(m <- kerascraft:::r_fit_data(data.frame(a = c(1, 2), b = c(TRUE, FALSE))),
                 "x: data frame of 2 numeric columns used as a matrix")
  expect_true(is.matrix(m))
  expect_equal(dim(m), c(2L, 2L))
  expect_message(codes <- kerascraft:::r_fit_data(factor(c("cat", "dog", "cat")), "y"),
                 "y: factor with levels cat, dog used as class indices 0 to 1")
  expect_identical(codes, array(c(0L, 1L, 0L)))
  expect_identical(dim(kerascraft:::r_fit_data(c(0.5, 1, 2))), 3L)  # vectors: 1-d arrays
  expect_error(kerascraft:::r_fit_data(c(1L, NA, 3L), "y"), "y has 1 missing value\\(s\\) \\(NA\\)")
  expect_error(kerascraft:::r_fit_data("text"), "x must be numeric")
  inputs <- suppressMessages(kerascraft:::r_fit_data(list(a = matrix(1, 2, 2), b = factor(c("u", "v")))))
  expect_identical(inputs$b, array(c(0L, 1L)))
})

test_that("numeric, integer and logical columns make the matrix; tibbles too", {
  df <- data.frame(num = c(0.5, 1), int = c(2L, 3L), lgl = c(TRUE, FALSE))
  m <- suppressMessages(kerascraft:::r_fit_data(df))
  expect_identical(dim(m), c(2L, 3L))
  expect_equal(unname(m[, "int"]), c(2, 3))
  expect_equal(unname(m[, "lgl"]), c(1, 0))
  skip_if_not_installed("tibble")
  expect_equal(suppressMessages(kerascraft:::r_fit_data(tibble::as_tibble(df))), m)
})

test_that("factor, character and date columns are refused by name, in the core's words", {
  skip_without_python("the core words the message")
  df <- data.frame(ok = c(1, 2), city = c("Oslo", "Rome"), colour = factor(c("red", "blue")),
                   day = as.Date(c("2024-01-01", "2024-06-30")), stringsAsFactors = FALSE)
  expect_error(kerascraft:::r_fit_data(df),
               "^x has non-numeric columns: city \\(text\\), colour \\(factor\\), day \\(date/time\\)\\. Encode them")
  expect_error(kerascraft:::r_fit_data(df["city"]),
               "^x has non-numeric columns: city \\(text\\)\\. Encode them as numbers \\(one-hot or integer codes\\) or drop them\\. \\(craft\\(\\) reads such tables as they are\\.\\)$")
  expect_error(kerascraft:::r_fit_data(data.frame(t = as.POSIXct("2024-01-01", tz = "UTC"))),
               "t \\(date/time\\).*Dates and times: use numbers")
  skip_if_not_installed("tibble")
  expect_error(kerascraft:::r_fit_data(tibble::tibble(a = 1, b = "x"), "validation x"),
               "^validation x has non-numeric columns: b \\(text\\)")
})

test_that("missing values in a data frame are counted by column", {
  skip_without_python("the core words the message")
  df <- data.frame(a = c(1, NA, 3), b = c(NA, NA, 1L), c = c(TRUE, NA, FALSE), d = 1:3)
  expect_error(kerascraft:::r_fit_data(df),
               "^x has 4 missing value\\(s\\) \\(NA\\) in columns a \\(1\\), b \\(2\\), c \\(1\\)\\. Remove or impute")
})

test_that("choice values are always lists, with whole doubles as integers", {
  expect_identical(kerascraft:::hp_values("adam"), list("adam"))
  expect_identical(kerascraft:::hp_values(c(16, 32)), list(16L, 32L))
  expect_identical(kerascraft:::hp_values(c(0.1, 0.5)), list(0.1, 0.5))
  expect_identical(kerascraft:::hp_values(factor(c("a", "b"))), list("a", "b"))
  expect_null(kerascraft:::hp_values(NULL))
})

test_that("strategy helpers refuse a fractional count instead of truncating it", {
  expect_error(kerascraft::global_batch_size(64.7), "`per_replica` must be a whole number, got 64.7")
  expect_error(kerascraft::simulate_devices(1.5), "`n` must be a whole number, got 1.5")
  expect_identical(kerascraft:::as_whole(c(1, 2, 4)), c(1L, 2L, 4L))
  expect_null(kerascraft:::as_whole(NULL))
})
