# Mixed precision from R: policies, scopes, checks and float32 conversion.

test_that("use_mixed_precision() returns the choice and the reason", {
  skip_without_python("policies are Keras's")
  on.exit(invisible(use_mixed_precision("float32")), add = TRUE)
  choice <- use_mixed_precision("auto")
  expect_s3_class(choice, "kerascraft_precision")
  expect_true(choice$policy %in% c("float32", "mixed_bfloat16", "mixed_float16"))
  expect_equal(keras$config$dtype_policy()$name, choice$policy)
  # the choice follows this CPU's bfloat16 instructions, read here from /proc/cpuinfo
  flags <- if (file.exists("/proc/cpuinfo")) readLines("/proc/cpuinfo") else character()
  bf16 <- any(grepl("\\b(avx512_bf16|amx_bf16)\\b", flags))
  if (choice$hardware$accelerator == "cpu" && keras$config$backend() == "tensorflow") {
    expect_equal(choice$policy, if (bf16) "mixed_bfloat16" else "float32")
    expect_match(choice$reason, if (bf16) "AVX512_BF16/AMX" else "without bfloat16 instructions")
  }
  expect_true(any(grepl("precision policy:", capture.output(print(choice)))))
})

test_that("with(precision_scope()) restores the policy, also after an error", {
  skip_without_python("policies are Keras's")
  on.exit(invisible(use_mixed_precision("float32")), add = TRUE)
  invisible(use_mixed_precision("float32"))
  with(precision_scope("mixed_bfloat16"), {
    inside <- keras$layers$Dense(2L)$compute_dtype
  })
  expect_equal(inside, "bfloat16")
  expect_equal(keras$config$dtype_policy()$name, "float32")
  expect_error(with(precision_scope("mixed_float16"), stop("broken block")), "broken block")
  expect_equal(keras$config$dtype_policy()$name, "float32")
})

test_that("check_precision() is a data frame of problems with their fixes", {
  skip_without_python("policies are Keras's")
  on.exit(invisible(use_mixed_precision("float32")), add = TRUE)
  with(precision_scope("mixed_bfloat16"), {
    bad <- keras$Sequential(list(keras$Input(shape = list(4L)),
                                 keras$layers$Dense(3L, activation = "softmax", name = "probs")))
    good <- keras$Sequential(c(list(keras$Input(shape = list(4L))), output_layers(3)))
  })
  found <- check_precision(bad, x = matrix(runif(8), 2))
  expect_equal(names(found), c("layer", "problem", "fix"))
  expect_setequal(found$layer, c("probs", "(data)"))
  clean <- check_precision(good)
  expect_equal(nrow(clean), 0)
  expect_equal(names(clean), c("layer", "problem", "fix"))
})

test_that("as_float32() keeps R numbers as float32 NumPy arrays", {
  skip_without_python("arrays are NumPy's")
  m <- as_float32(matrix(c(1, 2, 3, 4), 2))
  expect_s3_class(m, "numpy.ndarray")
  expect_equal(as.character(m$dtype$name), "float32")
  expect_equal(unlist(reticulate::py_to_r(m$shape)), c(2, 2))
  expect_equal(reticulate::py_to_r(m), matrix(c(1, 2, 3, 4), 2), ignore_attr = TRUE)
  d <- suppressMessages(as_float32(data.frame(a = c(1.5, 2), b = c(TRUE, FALSE))))
  expect_equal(as.character(d$dtype$name), "float32")
  a <- as_float32(array(1:24, c(2, 3, 4)))
  expect_equal(unlist(reticulate::py_to_r(a$shape)), c(2, 3, 4))
  # the values keep their place (R is column-major, NumPy row-major)
  expect_equal(reticulate::py_to_r(a), array(1:24, c(2, 3, 4)), ignore_attr = TRUE)
  expect_error(as_float32(data.frame(s = "a")), "non-numeric columns: s",
               class = "kerascraft_input_error")
})

test_that("benchmark_precision() compares float32 with the mixed policy", {
  skip_without_python("policies are Keras's")
  on.exit(invisible(use_mixed_precision("float32")), add = TRUE)
  build <- function() {
    model <- keras$Sequential(c(list(keras$Input(shape = list(8L)), keras$layers$Dense(16L)),
                                output_layers(2)))
    model$compile(optimizer = "adam", loss = "sparse_categorical_crossentropy")
    model
  }
  bench <- benchmark_precision(build, list(matrix(rnorm(512), 64), rep(0:1, 32)),
                               epochs = 1, batch_size = 32, repeats = 1)
  expect_equal(bench$summary$policy, c("float32", "mixed_bfloat16"))
  expect_equal(bench$summary$ratio[1], 1)
  expect_equal(nrow(bench$runs), 2)
})
