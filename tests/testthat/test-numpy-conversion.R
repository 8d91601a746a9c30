# R values cross to NumPy, and back, the same on NumPy 1 (reticulate 1.28, Debian 12) and
# NumPy 2 (reticulate >= 1.36, Debian 13): make test runs this on both.

dtype_of <- function(x) reticulate::py_to_r(reticulate::r_to_py(x)$dtype$name)

test_that("doubles, integers, logicals and factors keep their NumPy dtypes", {
  skip_without_python("needs the Python stack")
  expect_identical(dtype_of(kerascraft:::r_fit_data(c(0.5, 1))), "float64")
  expect_identical(dtype_of(kerascraft:::r_fit_data(c(0L, 2L))), "int32")
  expect_identical(dtype_of(kerascraft:::r_fit_data(c(TRUE, FALSE))), "bool")
  expect_identical(dtype_of(suppressMessages(kerascraft:::r_fit_data(factor(c("a", "b"))))), "int32")
})

test_that("as_float32() gives a C-ordered float32 array with R's values in R's layout", {
  skip_without_python("needs the Python stack")
  x <- matrix(c(1.5, 2, 3, 4, 5, 6), nrow = 2)
  arr <- kerascraft:::kc_core_unconverted()$as_float32(kerascraft:::r_fit_data(x))
  expect_identical(reticulate::py_to_r(arr$dtype$name), "float32")
  expect_true(reticulate::py_to_r(arr$flags$c_contiguous))
  expect_identical(unlist(reticulate::py_to_r(arr$shape)), c(2L, 3L))
  expect_equal(reticulate::py_to_r(arr), x)
  df <- data.frame(a = c(1, 2), b = c(3L, 4L), c = c(TRUE, FALSE))
  arr <- kerascraft:::kc_core_unconverted()$as_float32(suppressMessages(kerascraft:::r_fit_data(df)))
  expect_equal(unname(reticulate::py_to_r(arr)), unname(cbind(c(1, 2), c(3, 4), c(1, 0))))
})

test_that("Python tables become data frames with R's column types and NA", {
  skip_without_python("needs the Python stack")
  columns <- reticulate::py_eval(
    "{'trial': ['0', '1'], 'score': [0.5, None], 'units': [16, 32], 'ok': [True, False]}")
  df <- kerascraft:::columns_to_df(columns)
  expect_identical(vapply(df, typeof, ""), c(trial = "character", score = "double",
                                            units = "integer", ok = "logical"))
  expect_identical(df$score, c(0.5, NA))
})
