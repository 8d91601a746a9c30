# %py_class% takes the class bodies of both R dialects: reticulate's and the book's (methods
# take `self` first) and keras3's (methods omit it; `super$method()`).

test_that("methods may omit self, and self is there inside them", {
  skip_without_python("classes are Python classes")
  Counter %py_class% {
    initialize <- function(start) {
      self$count <- start
    }
    add <- function(n = 1) {
      self$count <- self$count + n
      invisible(self$count)
    }
    twice <- function() {
      self$add()
      self$add()
    }
  }
  counter <- Counter(start = 10L)
  counter$add(5L)
  counter$twice()
  expect_equal(counter$count, 17)
  other <- Counter(start = 0L)       # each call sees its own self
  other$add()
  expect_equal(c(counter$count, other$count), c(17, 1))
})

test_that("super$method() and super()$method() both reach the base class", {
  skip_without_python("classes are Python classes")
  Base %py_class% {
    initialize <- function(self, label) self$label <- label
    describe <- function(self) paste("base", self$label)
  }
  KerasStyle(Base) %py_class% {
    initialize <- function(label) super$`__init__`(toupper(label))
    describe <- function() paste("keras3:", super$describe())
  }
  BookStyle(Base) %py_class% {
    initialize <- function(self, label) super()$`__init__`(tolower(label))
    describe <- function(self) paste("book:", super()$describe())
  }
  expect_identical(KerasStyle("Mixed")$describe(), "keras3: base MIXED")
  expect_identical(BookStyle("Mixed")$describe(), "book: base mixed")
})

test_that("a keras3-style HyperModel builds with the R-friendly hp", {
  skip_without_python("classes are Python classes")
  TwoLayer(HyperModel) %py_class% {
    initialize <- function(num_classes, ...) {
      super$`__init__`(...)
      self$num_classes <- num_classes
    }
    build <- function(hp) {
      units <- hp$Int("units", 8, 16, step = 8)
      model <- keras$Sequential(list(
        keras$Input(shape = list(4L)),
        keras$layers$Dense(units, activation = "relu"),
        keras$layers$Dense(self$num_classes, activation = "softmax")))
      model$compile(optimizer = "adam", loss = "sparse_categorical_crossentropy")
      model
    }
  }
  hypermodel <- TwoLayer(num_classes = 3L)
  hp <- kt$HyperParameters()
  model <- hypermodel$build(hp)
  expect_identical(model$layers[[2]]$units, 3L)              # self$num_classes
  expect_identical(hp$get("units"), 8L)                      # registered through `hp$Int`
  expect_identical(model$layers[[1]]$units, 8L)
})

test_that("a book-style HyperModel subclass tunes its batch size in fit()", {
  skip_without_python("classes are Python classes")
  digits <- kerascraft::load_digits(seed = 0)
  build_for <- function(hp, num_classes) {
    model <- keras$Sequential(list(
      keras$Input(shape = list(64L)),
      keras$layers$Dense(hp$Int("units", 16, 32, step = 16), activation = "relu"),
      keras$layers$Dense(num_classes, activation = "softmax")))
    model$compile(optimizer = "adam", loss = "sparse_categorical_crossentropy",
                  metrics = list("accuracy"))
    model
  }
  seen_batch <- c()
  SimpleMLP(HyperModel) %py_class% {
    "A dense net for `num_classes` classes; also tunes the batch size."
    initialize <- function(self, num_classes) {
      super()$`__init__`()
      self$num_classes <- num_classes
    }
    build <- function(self, hp) build_for(hp, self$num_classes)
    fit <- function(self, hp, model, ...) {
      batch_size <- hp$Choice("batch_size", c(32, 128))
      seen_batch <<- c(seen_batch, batch_size)
      model$fit(..., batch_size = batch_size)
    }
  }
  hypermodel <- SimpleMLP(num_classes = 10L)
  expect_equal(hypermodel$num_classes, 10)
  expect_match(SimpleMLP$`__doc__`, "tunes the batch size")
  expect_true(inherits(hypermodel, "keras_tuner.src.engine.hypermodel.HyperModel"))
  t <- tuner("random", hypermodel, objective = "val_accuracy", max_trials = 3,
             directory = tempfile("pyclass"), seed = 5)
  search(t, digits$x_train, digits$y_train,
         validation_data = list(digits$x_val, digits$y_val), epochs = 2, verbose = 0)
  res <- results(t)
  expect_true(all(res$status == "COMPLETED"))
  expect_true(all(res$batch_size %in% c(32, 128)))
  expect_equal(res$batch_size, seen_batch[seq_len(nrow(res))])
})

test_that("a callback written in R runs every epoch of a search", {
  skip_without_python("classes are Python classes")
  digits <- kerascraft::load_digits(seed = 0)
  build_model <- function(hp) {
    model <- keras$Sequential(list(keras$Input(shape = list(64L)),
      keras$layers$Dense(hp$Int("units", 16, 64, step = 16), activation = "relu"),
      keras$layers$Dense(10L, activation = "softmax")))
    model$compile(optimizer = "adam", loss = "sparse_categorical_crossentropy",
                  metrics = list("accuracy"))
    model
  }
  epochs_seen <- 0L
  EpochCounter(Callback) %py_class% {
    `__init__` <- function(self) {
      super()$`__init__`()
      self$epochs <- 0L
    }
    on_epoch_end <- function(self, epoch, logs = NULL) {
      self$epochs <- self$epochs + 1L
      epochs_seen <<- epochs_seen + 1L
      stopifnot(is.numeric(logs$val_accuracy))
    }
  }
  t <- tuner("random", build_model, objective = "val_accuracy", max_trials = 2,
             directory = tempfile("pyclass"), seed = 1)
  search(t, digits$x_train, digits$y_train, validation_data = list(digits$x_val, digits$y_val),
         epochs = 3, verbose = 0, callbacks = EpochCounter())
  # KerasTuner deep-copies callbacks per trial; the R methods still run, every epoch
  expect_true(all(results(t)$status == "COMPLETED"))
  expect_equal(epochs_seen, 6L)
})

test_that("%py_class% errors name the problem", {
  skip_without_python("classes are Python classes")
  expect_error(Foo(NoSuchBase) %py_class% { x <- 1 }, "base class `NoSuchBase` not found",
               class = "kerascraft_input_error")
  expect_error(Foo(HyperModel) %py_class% 3, "must be in braces", class = "kerascraft_input_error")
  Plain %py_class% {
    greeting <- "hi"
    greet <- function(self, name) paste(self$greeting, name)
  }
  expect_equal(Plain()$greet("R"), "hi R")
})
