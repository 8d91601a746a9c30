# Ensembles from R: R matrices and vectors in, labels counted explicitly, data frames out.

# two different members trained in R's session, plus an R function; made once per file
members_fixture <- local({
  made <- NULL
  function() {
    if (is.null(made)) {
      digits <- kerascraft::load_digits(seed = 0)
      gbt <- kerascraft::fit_gradient_boosting(digits$x_train, digits$y_train, max_iter = 40)
      sk <- reticulate::import("sklearn.linear_model")
      logreg <- sk$LogisticRegression(max_iter = 2000L)$fit(digits$x_train, digits$y_train)
      prior <- function(x) matrix(0.1, nrow(x), 10)  # an R function is a member too
      members <- list(gbt = gbt, logreg = logreg, prior = prior)
      made <<- list(digits = digits, prior = prior,
                    pv = kerascraft::predictions(members, digits$x_val),
                    pt = kerascraft::predictions(members, digits$x_test))
    }
    made
  }
})

test_that("fit, predict, weights, summary and evaluate work on R data", {
  skip_without_python("ensembles are fitted in the core")
  m <- members_fixture()
  digits <- m$digits
  pv <- m$pv
  pt <- m$pt
  expect_true(is.matrix(pv$gbt))
  expect_equal(dim(pv$gbt), c(nrow(digits$x_val), 10))
  expect_equal(pv$prior, m$prior(digits$x_val))
  ens <- fit_ensemble(pv, digits$y_val, cv = 3)
  w <- weights(ens)
  expect_equal(names(w), c("gbt", "logreg", "prior"))
  expect_equal(sum(w), 1, tolerance = 1e-9)
  expect_true(all(w >= 0))
  expect_lt(w[["prior"]], 0.05)  # a constant prediction earns (almost) nothing
  expect_equal(names(summary(ens))[1:8], c("model", "weight", "used", "val_score", "gain",
                                           "support", "weight_without_top", "fragile"))
  expect_true("cross_fitted" %in% names(attr(summary(ens), "scores")))
  tab <- evaluate_ensemble(ens, digits$y_test, pt)
  expect_equal(tab$kind, c("ensemble", "mean", "single", "single", "single"))
  expect_lt(tab$log_loss[1], tab$log_loss[2])  # the weights beat the plain mean
  expect_true(all(abs(rowSums(predict(ens, pt)) - 1) < 1e-5))
  classes <- predict(ens, pt, type = "class")
  expect_true(all(classes %in% 0:9))
  expect_gt(mean(classes == digits$y_test), 0.9)
})

test_that("labels are counted explicitly: 1-based said, factors kept, ambiguity refused", {
  skip_without_python("ensembles are fitted in the core")
  m <- members_fixture()
  digits <- m$digits
  pv <- m$pv
  pt <- m$pt
  expect_message(e1 <- fit_ensemble(pv, digits$y_val + 1), "taken as 1-based")
  e0 <- fit_ensemble(pv, digits$y_val)
  expect_equal(predict(e1, pt, type = "class"), predict(e0, pt, type = "class") + 1)
  lv <- paste0("digit", 0:9)
  ef <- suppressMessages(fit_ensemble(pv, factor(lv[digits$y_val + 1], levels = lv)))
  expect_true(is.factor(predict(ef, pt, type = "class")))
  expect_equal(colnames(predict(ef, pt))[1:2], c("digit0", "digit1"))
  acc <- evaluate_ensemble(ef, factor(lv[digits$y_test + 1], levels = lv), pt)$accuracy[1]
  expect_gt(acc, 0.9)
  ambiguous <- pmin(pmax(digits$y_val, 1), 8)
  expect_error(fit_ensemble(pv, ambiguous), "label_base = 0", class = "kerascraft_input_error")
  expect_length(weights(fit_ensemble(pv, ambiguous, label_base = 0)), 3)
  yb <- digits$y_val == 0
  pb <- list(a = pv$gbt[, 1], b = pv$logreg[, 1])
  eb <- fit_ensemble(pb, yb, metric = "auc")
  expect_null(dim(predict(eb, pb)))
  w <- weights(eb)  # the combination is the weighted mean of the members' predictions
  expect_equal(predict(eb, pb), w[["a"]] * pb$a + w[["b"]] * pb$b, tolerance = 1e-5)
})

test_that("bad input is named, and an ensemble saved as JSON loads back", {
  skip_without_python("ensembles are fitted in the core")
  m <- members_fixture()
  digits <- m$digits
  pv <- m$pv
  pt <- m$pt
  expect_error(fit_ensemble(list(pv$gbt, pv$logreg), digits$y_val), "needs a name",
               class = "kerascraft_input_error")
  expect_error(fit_ensemble(list(a = pv$gbt, b = pv$logreg[-1, ]), digits$y_val),
               "different numbers of rows", class = "kerascraft_input_error")
  bad <- pv$logreg
  bad[3, 2] <- NA
  expect_error(fit_ensemble(list(a = pv$gbt, b = bad), digits$y_val), "model 'b' contain 1 NaN",
               class = "kerascraft_input_error")
  expect_error(fit_ensemble(list(a = pv$gbt, b = pv$logreg), c(digits$y_val[-1], 12)),
               "outside the class range", class = "kerascraft_input_error")
  ens <- suppressMessages(fit_ensemble(pv, factor(digits$y_val)))
  path <- file.path(tempfile("ens"), "e.json")
  dir.create(dirname(path))
  save_ensemble(ens, path)
  back <- load_ensemble(path)
  expect_identical(weights(back), weights(ens))
  expect_identical(predict(back, pt, type = "class"), predict(ens, pt, type = "class"))
  # plain JSON, readable without R
  saved <- reticulate::import("json")$loads(paste(readLines(path, warn = FALSE), collapse = "\n"))
  expect_equal(unlist(saved$meta$r_levels), as.character(0:9))
  expect_error(load_ensemble(file.path(dirname(path), "missing.json")), "no ensemble file",
               class = "kerascraft_input_error")
})

test_that("diversity and the plots draw the core's data", {
  skip_without_python("ensembles are fitted in the core")
  skip_if_not_installed("ggplot2")
  m <- members_fixture()
  ens <- fit_ensemble(m$pv, m$digits$y_val, cv = 3)
  d <- diversity(m$pv, m$digits$y_val)
  expect_s3_class(d, "kerascraft_diversity")
  expect_equal(nrow(d), 3)
  expect_gt(d$disagreement[1], 0)
  expect_lt(d$disagreement[1], 0.2)  # gbt and logreg agree on most digits
  expect_equal(nrow(ggplot2::ggplot_build(plot(ens))$data[[1]]), 3)  # a bar per model
  tiles <- ggplot2::ggplot_build(plot(d))$data[[1]]
  expect_equal(nrow(tiles), 9)  # every pair both ways and the diagonal
  file <- tempfile(fileext = ".png")
  grDevices::png(file)
  print(plot(ens))
  grDevices::dev.off()
  expect_gt(file.size(file), 1000)
})

test_that("the stack method fits, saves and loads from R, factor labels kept", {
  skip_without_python("ensembles are fitted in the core")
  m <- members_fixture()
  digits <- m$digits
  y_val <- factor(digits$y_val, levels = 0:9, labels = paste0("d", 0:9))
  ens <- suppressMessages(fit_ensemble(m$pv, y_val, method = "stack"))
  expect_equal(ens$py$method, "stack")
  expect_equal(sum(weights(ens)), 1, tolerance = 1e-9)
  expect_match(paste(capture.output(print(ens)), collapse = "\n"), "stacked: weighted geometric mean")
  classes <- predict(ens, m$pt, type = "class")
  expect_s3_class(classes, "factor")
  expect_gt(mean(as.character(classes) == paste0("d", digits$y_test)), 0.9)
  path <- tempfile(fileext = ".json")
  save_ensemble(ens, path)
  back <- load_ensemble(path)
  expect_equal(predict(back, m$pt), predict(ens, m$pt))
  expect_error(suppressMessages(fit_ensemble(m$pv, y_val, method = "stack", power = 2)),
               class = "kerascraft_input_error")
})

test_that("cross_fit trains members fold by fold, keeps the others when one fails", {
  skip_without_python("cross-fitting runs in the core")
  d <- kerascraft::load_dataset("wine", seed = 0)
  x <- rbind(d$x_train, d$x_val)
  y <- c(d$y_train, d$y_val) + 1  # 1-based labels, as R users often have
  nb <- reticulate::import("sklearn.naive_bayes")
  seen <- integer(0)
  nearest_mean <- function(x_train, y_train, x_val, y_val) {  # an R member: a fit function
    seen <<- c(seen, sort(unique(as.integer(y_train))))
    centres <- rowsum(x_train, y_train) / as.vector(table(y_train))
    function(x) {
      d2 <- sapply(seq_len(nrow(centres)), function(j) colSums((t(x) - centres[j, ])^2))
      p <- exp(-(d2 - apply(d2, 1, min)) / 50)
      p / rowSums(p)
    }
  }
  broken <- function(x_train, y_train, x_val, y_val) stop("no such model")
  expect_warning(
    cf <- suppressMessages(cross_fit(list(bayes = nb$GaussianNB(), centres = nearest_mean,
                                          broken = broken), x, y, cv = 3, verbose = 0)),
    "member 'broken' failed")
  expect_s3_class(cf, "kerascraft_cross_fit")
  expect_equal(names(cf$oof), c("bayes", "centres"))
  expect_match(cf$failed[["broken"]], "no such model")
  expect_equal(dim(cf$oof$bayes), c(nrow(x), 3))
  expect_equal(unique(seen), 0:2)  # the fit functions see 0-based labels
  ens <- suppressMessages(fit_ensemble(cf$oof, y, method = "stack"))
  test <- predict(cf, d$x_test)
  expect_equal(names(test), c("bayes", "centres"))
  expect_gt(mean(predict(ens, test, type = "class") == d$y_test + 1), 0.85)
  # the estimator is refitted on all rows, the R fit function bagged
  expect_equal(unname(cf$routes), c("refit on all rows", "bagged (mean of the fold models)"))
  expect_false(isTRUE(all.equal(predict(cf, d$x_test, bagged = TRUE)$bayes, test$bayes)))
  expect_equal(predict(cf, d$x_test, bagged = TRUE)$centres, test$centres)
  expect_error(cross_fit(list(nb$GaussianNB()), x, y), class = "kerascraft_input_error")
})
