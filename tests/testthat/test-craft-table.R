# craft() on R's tables as they come: factors, text, dates, NA; a formula; predict() on
# raw rows; load_craft() in a fresh R process.

test_that("R's columns reach the core as what they are, NA included", {
  skip_without_python("the core makes the pandas frame")
  d <- data.frame(
    n = c(1.5, NA, 3), i = c(1L, NA, 3L), l = c(TRUE, NA, FALSE),
    f = factor(c("a", NA, "b")), o = factor(c("lo", "hi", NA), levels = c("lo", "hi"),
                                            ordered = TRUE),
    s = c("x y", NA, "z"), d = as.Date(c("2020-01-02", NA, "2021-03-04")),
    t = as.POSIXct(c("2020-01-02 10:00:00", "2020-01-03 11:30:00", NA), tz = "UTC"),
    stringsAsFactors = FALSE)
  frame <- kerascraft:::r_table(d)
  missing <- reticulate::py_to_r(frame$isna()$sum()$to_dict())
  expect_equal(unlist(missing), c(n = 1, i = 1, l = 1, f = 1, o = 1, s = 1, d = 1, t = 1))
  dtypes <- vapply(names(d), function(col) reticulate::py_str(frame[[col]]$dtype), "")
  expect_equal(unname(dtypes[c("n", "i", "l", "f", "o", "s")]),
               c("float64", "float64", "boolean", "category", "category", "object"))
  # pandas 2 keeps times in nanoseconds, pandas 3 in microseconds
  expect_match(dtypes[["d"]], "^datetime64\\[(ns|us)\\]$")
  expect_match(dtypes[["t"]], "^datetime64\\[(ns|us), UTC\\]$")
  expect_true(reticulate::py_to_r(frame$o$cat$ordered))
  expect_equal(unlist(reticulate::py_to_r(frame$o$cat$categories$tolist())), c("lo", "hi"))
  expect_equal(unlist(reticulate::py_to_r(frame$i$tolist()))[c(1, 3)], c(1, 3))
})

test_that("columns craft() cannot read are named all at once", {
  skip_without_python("the core names the columns")
  d <- data.frame(a = 1:30, y = rep(c(0.5, 1.5), 15))
  d$tags <- rep(list(c("a", "b")), 30)
  d$z <- complex(real = 1:30, imaginary = 1)
  expect_error(craft(y ~ ., data = d, directory = tempfile(), verbose = 0),
               paste0("the data has 2 column\\(s\\) kerascraft cannot read: tags: a list column ",
                      "\\(one value per cell is needed\\); z: values of class complex"),
               class = "kerascraft_input_error")
  expect_error(craft(y ~ a + log(a), data = d, directory = tempfile(), verbose = 0),
               "may name columns of `data` only .* not log\\(a\\)", class = "kerascraft_input_error")
  expect_error(craft(price ~ ., data = d, directory = tempfile(), verbose = 0),
               "target price is not a column of `data`", class = "kerascraft_input_error")
})

test_that("craft(Ozone ~ ., data = airquality) leaves out rows without Ozone, keeps other NA, predicts raw rows and reloads", {
  skip_without_python("craft() runs in the core")
  dir <- tempfile("craft_air")
  said <- capture.output(r <- craft(Ozone ~ ., data = airquality, max_trials = 2, epochs = 4,
                                    top = 1, directory = dir, seed = 1))
  expect_true(any(grepl("] data: 37 row(s) without a value of Ozone left out", said,
                        fixed = TRUE)))
  expect_true(any(grepl("^\\[0:\\d\\d\\] columns: 5 numbers \\(Solar.R, Wind, Temp, Month, Day\\)", said)))
  expect_equal(sum(unlist(r$py$sizes)), 116)
  expect_equal(r$task, "regression")
  expect_equal(r$columns$column, c("Solar.R", "Wind", "Temp", "Month", "Day"))
  expect_true(r$columns$missing[1] > 0)  # Solar.R's NA are kept, and flagged
  expect_match(r$columns$network[1], "missing flag")
  rows <- airquality[c(5, 6, 10, 25), ]  # NA in Ozone and Solar.R among them
  rows$Ozone <- NULL
  p <- predict(r, rows[, rev(names(rows))])
  expect_length(p, 4)
  expect_true(all(is.finite(p)))
  saveRDS(rows, file.path(dir, "rows.rds"))
  out <- run_rscript(c(
    sprintf(".libPaths(c(%s))", paste(deparse(.libPaths()), collapse = "")),
    sprintf("r <- kerascraft::load_craft(%s)", deparse(dir)),
    sprintf("p <- predict(r, readRDS(%s))", deparse(file.path(dir, "rows.rds"))),
    sprintf("saveRDS(p, %s)", deparse(file.path(dir, "again.rds"))),
    "print(r)"))
  expect_equal(out$status, 0L, info = out$output)
  expect_equal(readRDS(file.path(dir, "again.rds")), p, tolerance = 1e-6)
  expect_match(out$output, "columns: 5 numbers", fixed = TRUE)
})

test_that("a table with factors, a date and text: classes as a factor, unseen levels noted", {
  skip_without_python("craft() runs in the core")
  set.seed(3)
  n <- 240
  d <- data.frame(
    size = rnorm(n), shop = sample(c("north", "south", "east"), n, TRUE),
    kind = factor(sample(c("a", "b", "c", "d"), n, TRUE)),
    day = as.Date("2022-01-01") + sample(0:400, n, TRUE),
    note = replicate(n, paste(sample(c("good", "bad", "fast", "slow", "nice"), 4, TRUE),
                              collapse = " ")),
    stringsAsFactors = FALSE)
  d$label <- factor(ifelse(d$size + (d$kind == "a") + grepl("good", d$note) > 1, "yes", "no"),
                    levels = c("yes", "no"))
  d$size[c(4, 9)] <- NA
  d$shop[7] <- NA
  said <- capture.output(r <- craft(label ~ ., data = d, max_trials = 2, epochs = 3, top = 1,
                                    directory = tempfile("craft_mixed"), seed = 2))
  expect_true(any(grepl("columns: 1 number \\(size\\), 2 categories \\(shop, kind\\), 1 date \\(day\\), 1 text column \\(note\\)", said)))
  expect_equal(r$classes, c("yes", "no"))
  new <- d[1:5, ]
  new$label <- NULL
  new$kind <- as.character(new$kind)
  new$kind[1] <- "zz"
  new$size[2] <- NA
  cls <- predict(r, new, type = "class")
  expect_s3_class(cls, "factor")
  expect_equal(levels(cls), c("yes", "no"))
  expect_error(predict(r, new[, -1]), "newdata lacks column\\(s\\) the models were trained on: size",
               class = "kerascraft_input_error")
  new$day <- "soon"
  expect_error(predict(r, new), "day \\(date in training, text now\\)",
               class = "kerascraft_input_error")
})

test_that("craft(price ~ ., data = diamonds) on 5,000 raw rows of ggplot2's diamonds", {
  skip_without_python("craft() runs in the core")
  skip_if_not_installed("ggplot2")
  set.seed(5)
  d <- as.data.frame(ggplot2::diamonds)[sample(nrow(ggplot2::diamonds), 5000), ]
  said <- capture.output(r <- craft(price ~ ., data = d, max_trials = 2, epochs = 3, top = 1,
                                    directory = tempfile("craft_diamonds"), seed = 1))
  expect_true(any(grepl(paste0("^\\[0:\\d\\d\\] columns: 6 numbers \\(carat, depth, table, x, y, z\\), ",
                               "3 ordered categories \\(cut, color, clarity\\)"), said)))
  expect_equal(r$columns$kind[r$columns$column == "cut"], "ordered")
  expect_match(r$columns$trees[r$columns$column == "cut"], "rank")
  new <- d[1:3, setdiff(names(d), "price")]
  new$color <- as.character(new$color)
  new$color[1] <- "Q"    # not a colour diamonds have
  new$carat[2] <- NA
  p <- predict(r, new)
  expect_length(p, 3)
  expect_true(all(is.finite(p)))
  rmse <- r$test_scores$mse[r$test_scores$kind == "ensemble"]
  expect_lt(sqrt(rmse), stats::sd(d$price) / 2)  # learned the prices, not their mean
})
