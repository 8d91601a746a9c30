# %py_class% takes the class bodies of both R dialects: reticulate's and the book's (methods
# take `self` first) and keras3's (methods omit it; `super$method()`).

test_that("methods may omit self, and self is there inside them", {
  skip_if_not(kerascraft::python_ready(), "classes are Python classes")
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
  skip_if_not(kerascraft::python_ready(), "classes are Python classes")
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
  skip_if_not(kerascraft::python_ready(), "classes are Python classes")
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
