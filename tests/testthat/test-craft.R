# craft(), report() and craft_demo() from R: a factor and a data frame in, data frames,
# predictions and an HTML report out; bad input refused before anything is trained.

wine_fixture <- function() {
  wine <- kerascraft::load_dataset("wine", split = FALSE)
  list(x = as.data.frame(wine$x),
       y = factor(c("barolo", "grignolino", "barbera")[wine$y + 1]))
}

test_that("craft() from R with a factor and a data frame, resumed quietly", {
  skip_without_python("craft() runs in the core")
  w <- wine_fixture()
  dir <- tempfile("craft")
  printed <- capture.output(res <- suppressMessages(craft(
    w$x, w$y, max_trials = 2, epochs = 10, top = 2, kind = "random", directory = dir)))
  # progress went to R's console: one line per trial with the best so far
  expect_true(any(grepl("trial 2/2: val_accuracy=", printed)))
  expect_true(any(grepl("retrained model 2/2", printed)))
  expect_s3_class(res, "kerascraft_craft")
  expect_equal(res$classes, c("barbera", "barolo", "grignolino"))
  expect_equal(c(nrow(res$trials), nrow(res$retrained), nrow(res$test_scores), nrow(res$gaps)),
               c(2, 2, 8, 6))  # 2 nets + trees + 3 cheap models; ensemble, mean
  expect_setequal(res$weights$model, c("net_1", "net_2", "gbt", "linear", "knn", "extra_trees"))
  expect_equal(res$test_scores$model[1], "ensemble (stack)")  # the stack for classes
  expect_equal(res$test_scores$kind[1], "ensemble")
  expect_equal(sum(res$weights$weight), 1, tolerance = 1e-9)
  # time against weight, by family
  expect_equal(res$families$family, c("networks", "gradient-boosted trees", "cheap models"))
  expect_equal(sum(res$families$weight), 1, tolerance = 1e-9)
  expect_true(any(grepl("time and weight by family", capture.output(print(res)))))
  expect_true(res$setup$precision %in% c("float32", "mixed_bfloat16"))
  expect_true(any(grepl("test accuracy: ensemble", capture.output(print(res)))))
  p <- suppressMessages(predict(res, w$x[1:4, ]))
  expect_equal(dim(p), c(4, 3))
  expect_equal(colnames(p), c("barbera", "barolo", "grignolino"))
  cls <- suppressMessages(predict(res, w$x, type = "class"))
  expect_equal(levels(cls), c("barbera", "barolo", "grignolino"))
  expect_gt(mean(cls == w$y), 0.9)
  path <- report(res, file.path(dir, "out", "report.html"))
  html <- paste(readLines(path, warn = FALSE), collapse = "\n")
  expect_equal(lengths(regmatches(html, gregexpr("<img ", html))), 4)
  quiet <- capture.output(again <- craft(w$x, w$y, max_trials = 2, epochs = 10, top = 2,
                                         kind = "random", directory = dir, verbose = 0))
  expect_length(quiet, 0)
  expect_true("retrain" %in% again$timings$stage[again$timings$reused])
})

test_that("craft() refuses to resume a search of another build function", {
  skip_without_python("craft() runs in the core")
  w <- wine_fixture()
  dir <- tempfile("craft")
  net <- function(units) {
    force(units)
    function(hp) {
      model <- keras$Sequential(list(
        keras$Input(shape = list(13L)), keras$layers$Normalization(),
        keras$layers$Dense(hp$Int("units", 4, units), activation = "relu"),
        keras$layers$Dense(3L, activation = "softmax")))
      model$compile(optimizer = "adam", loss = "sparse_categorical_crossentropy",
                    metrics = list("accuracy"))
      model
    }
  }
  small <- function(hp) net(8)(hp)
  wide <- function(hp) net(64)(hp)
  run <- function(build_model) suppressMessages(craft(
    w$x, w$y, build_model = build_model, max_trials = 1, epochs = 2, top = 1,
    gradient_boosting = FALSE, cheap_models = FALSE, directory = dir, verbose = 0))
  first <- run(small)
  expect_equal(nrow(first$trials), 1)
  expect_error(run(wide), "holds a search of another model.*overwrite=True",
               class = "kerascraft_input_error")
  expect_equal(nrow(run(small)$trials), 1)  # the same function resumes
})

test_that("craft() reads a whole-number target with many values as numbers, and says so", {
  skip_without_python("craft() runs in the core")
  skip_if_not_installed("ggplot2")
  cars <- as.data.frame(ggplot2::mpg)
  printed <- capture.output(res <- suppressMessages(craft(
    cars[, c("displ", "year", "cyl", "cty")], cars$hwy, max_trials = 1, epochs = 3, top = 1,
    gradient_boosting = FALSE, cheap_models = FALSE, directory = tempfile("craft"))))
  expect_equal(res$task, "regression")
  expect_true(any(grepl(paste0("^\\[0:\\d\\d\\] task: regression \\(27 distinct whole numbers among 234 rows, ",
                               "fewer than 10 rows per value on average"), printed)))
  expect_true(all(c("mse", "mae") %in% names(res$test_scores)))
})

test_that("craft() refuses bad input before anything is trained or written", {
  skip_without_python("craft() checks its input in the core")
  w <- wine_fixture()
  dirs <- file.path(tempfile("craft"), letters[1:5])
  expect_craft_error <- function(x, y, dir, message) {
    expect_error(suppressMessages(craft(x, y, directory = dir)), message,
                 class = "kerascraft_input_error")
  }
  listed <- w$x
  listed$colour <- rep(list("red"), nrow(listed))
  expect_craft_error(listed, w$y, dirs[1], "cannot read: colour: a list column")
  expect_craft_error(w$x, w$y[-1], dirs[2], "x has 178 samples but y has 177")
  expect_craft_error(w$x, factor(rep("a", nrow(w$x))), dirs[3], "a single class")
  rare <- w$y
  levels(rare) <- c(levels(rare), "rare")
  rare[1:3] <- "rare"
  expect_craft_error(w$x, rare, dirs[4], "too few samples per class.*'rare' \\(3\\)")
  expect_craft_error(w$x, replace(w$y, 4, NA), dirs[5], "missing label")
  expect_false(any(dir.exists(dirs)))
})

test_that("craft_demo() from R prints the summary and writes its report", {
  skip_without_python("craft() runs in the core")
  printed <- capture.output(demo <- craft_demo(directory = tempfile("demo"), max_trials = 2,
                                               epochs = 5, top = 1))
  expect_true(file.exists(demo$report_path))
  expect_gt(demo$test_scores$accuracy[1], 0.85)
  expect_true(any(grepl("test accuracy: ensemble", printed)))
  expect_true(any(grepl("report: ", printed)))
})

test_that("craft(time_limit = <difftime>) ends within it and says what it cut", {
  skip_without_python("craft() runs in the core")
  w <- wine_fixture()
  began <- Sys.time()
  said <- capture.output(res <- suppressMessages(craft(
    w$x, w$y, time_limit = as.difftime(1 / 3, units = "mins"), max_trials = 200, epochs = 20,
    top = 1, directory = tempfile("timed"))))
  took <- as.numeric(Sys.time() - began, units = "secs")
  expect_lt(took, 20 * 1.1)
  expect_lt(nrow(res$trials), 200)
  expect_true(any(grepl("^\\[0:\\d\\d, 0:\\d\\d left\\] trial 1/200", said)))
  summary <- capture.output(print(res))
  expect_true(any(grepl("of time_limit=20 s", summary, fixed = TRUE)))
  expect_true(any(grepl("search: time limit: trials finished", summary, fixed = TRUE)))
  expect_equal(res$timings$stage[1:4], c("split", "gradient_boosting", "cheap_models", "setup"))
})
