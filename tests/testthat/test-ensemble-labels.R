# How R class labels become the 0-based indices of the probability columns: no Python needed.
r_class_labels <- kerascraft:::r_class_labels

test_that("0-based labels are kept, 1-based ones are shifted and said", {
  expect_equal(as.vector(r_class_labels(c(0, 2, 1), 3)$y), c(0L, 2L, 1L))
  expect_message(out <- r_class_labels(c(1, 3, 2), 3), "taken as 1-based")
  expect_equal(as.vector(out$y), c(0L, 2L, 1L))
  expect_equal(out$label_base, 1L)
  expect_silent(r_class_labels(c(1, 3, 2), 3, label_base = 1))
})

test_that("labels that could count from 0 or 1 need label_base", {
  expect_error(r_class_labels(c(1, 2, 1), 4), "label_base = 0")
  expect_equal(as.vector(r_class_labels(c(1, 2, 1), 4, label_base = 0)$y), c(1L, 2L, 1L))
  expect_error(r_class_labels(c(1, 2), 4, label_base = 2), "0 or 1")
})

test_that("factors and logicals map explicitly", {
  f <- factor(c("cat", "dog", "cat"), levels = c("cat", "dog", "eel"))
  expect_message(out <- r_class_labels(f, 3), "cat, dog, eel are the probability columns")
  expect_equal(as.vector(out$y), c(0L, 1L, 0L))
  expect_equal(out$levels, c("cat", "dog", "eel"))
  expect_error(r_class_labels(f, 2), "3 levels but the predictions have 2")
  expect_equal(as.vector(r_class_labels(c(TRUE, FALSE), 2)$y), c(1L, 0L))
  expect_error(r_class_labels(c(TRUE, FALSE), 3), "logical")
  expect_error(r_class_labels(c(0, NA), 2), "missing label")
  expect_error(r_class_labels(c(0.5, 1), 2), "whole numbers")
})

test_that("R and Python decide classes or numbers by the same rule", {
  skip_without_python("the rule is the core's")
  core <- kerascraft:::kc_core()
  one_column <- list(a = c(0.2, 0.8, 0.7, 0.1))
  # labels 1 and 2 with one-column probabilities: classes, in R (1-based, said) and in Python
  ens <- suppressMessages(fit_ensemble(one_column, c(1, 2, 2, 1)))
  expect_equal(ens$py$task, "classification")
  expect_equal(core$decide_task(array(c(1, 2, 2, 1)),
                                predictions = kerascraft:::r_predictions(one_column))$task,
               "classification")
  # a car table's highway miles per gallon: 27 whole numbers over 234 rows are numbers
  skip_if_not_installed("ggplot2")
  hwy <- ggplot2::mpg$hwy
  choice <- kerascraft:::r_task(hwy)
  expect_equal(choice$task, "regression")
  expect_match(choice$reason, "^27 distinct whole numbers among 234 rows")
  expect_equal(kerascraft:::r_task(factor(ggplot2::mpg$drv))$task, "classification")
  expect_equal(kerascraft:::r_task(hwy, task = "classification")$reason, "given")
  lm <- reticulate::import("sklearn.linear_model")
  cf <- cross_fit(list(lm = lm$LinearRegression()), as.matrix(ggplot2::mpg[, c("displ", "cty")]),
                  hwy, cv = 3, verbose = 0)
  expect_equal(cf$py$task, "regression")
})
