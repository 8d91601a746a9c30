# `%py_class%`: define a Python class (a KerasTuner HyperModel, a Keras callback, ...) in R
# code that reads like the Python class it mirrors. Built on reticulate::PyClass(), which
# gives methods `self` and `super()`.

#' Define a Python class in R
#'
#' `SimpleMLP(HyperModel) %py_class% { ... }` defines the Python class `SimpleMLP` with
#' base class `HyperModel`, as `class SimpleMLP(HyperModel): ...` does in Python. The header names the class and its base classes. A base is looked up as an R object
#' first, then in KerasTuner (`HyperModel`), `keras`, `keras$callbacks` (`Callback`) and
#' `keras$layers`; `kt$HyperModel` works too. In the body, functions become methods (`self` is
#' the instance; `super()` calls the base class), `initialize` (or `__init__`)
#' is the constructor, other values become class attributes, and a leading string is the
#' docstring. Methods receive KerasTuner `HyperParameters` as the same R-friendly `hp` that
#' build functions get (see [tuner()]). The class is assigned in the calling environment
#' and returned invisibly.
#'
#' Both ways R users write class bodies work, so a body written for the keras3 R package's
#' `%py_class%` (which masks this one, or is masked by it, when both are attached) runs
#' unchanged: methods may take `self` first (`build <- function(self, hp)`, as in
#' reticulate and the book) or omit it (`build <- function(hp)`, as in keras3), `self`
#' being available inside either way; and the base class is reached with `super()$method()`
#' or `super$method()`.
#'
#' @param spec `ClassName(Base1, ...)` or `ClassName`.
#' @param body the class body, in braces.
#' @return The Python class, invisibly.
#' @examplesIf kerascraft::python_ready()
#' EpochCounter(Callback) %py_class% {
#'   "Counts the epochs it has seen."
#'   initialize <- function(self) {
#'     super()$`__init__`()
#'     self$epochs <- 0L
#'   }
#'   on_epoch_end <- function(self, epoch, logs = NULL) {
#'     self$epochs <- self$epochs + 1L
#'   }
#' }
#' counter <- EpochCounter()
#' @export
`%py_class%` <- function(spec, body) {
  spec <- substitute(spec)
  body <- substitute(body)
  caller <- parent.frame()
  if (is.call(spec)) {
    classname <- deparse(spec[[1]])
    bases <- lapply(as.list(spec)[-1], resolve_base_class, envir = caller)
  } else if (is.name(spec)) {
    classname <- as.character(spec)
    bases <- list()
  } else {
    kc_abort("%py_class% needs `ClassName(Base) %py_class% { ... }`.")
  }
  if (!is.call(body) || !identical(body[[1]], as.name("{"))) {
    kc_abort("the body of ", classname, " %py_class% must be in braces: { ... }.")
  }
  exprs <- as.list(body)[-1]
  doc <- NULL
  if (length(exprs) > 0 && is.character(exprs[[1]])) {
    doc <- exprs[[1]]
    exprs <- exprs[-1]
  }
  env <- new.env(parent = caller)
  for (e in exprs) eval(e, env)
  defs <- mget(ls(env, all.names = TRUE, sorted = FALSE), envir = env)
  if (!is.null(defs$initialize)) {
    if (!is.null(defs$`__init__`)) kc_abort(classname, " defines both initialize and __init__.")
    defs$`__init__` <- defs$initialize
    defs$initialize <- NULL
  }
  holder <- new.env(parent = emptyenv())  # the class, once made, for super()
  defs <- Map(as_py_method, defs, names(defs), MoreArgs = list(holder = holder))
  if (!is.null(doc)) defs$`__doc__` <- doc
  defs$`__kerascraft_source__` <- r_source(body)  # Python has no source for R methods
  if (length(bases) > 0) kc_ensure_python()
  cls <- reticulate::PyClass(classname, defs, inherit = if (length(bases)) bases else NULL)
  holder$cls <- cls
  assign(classname, cls, envir = caller)
  invisible(cls)
}

resolve_base_class <- function(expr, envir) {
  if (!is.name(expr)) return(eval(expr, envir))
  name <- as.character(expr)
  if (exists(name, envir = envir)) {
    found <- get(name, envir = envir)
    if (inherits(found, "python.builtin.object")) return(found)
  }
  for (module in list(kt, keras, keras$callbacks, keras$layers)) {
    if (reticulate::py_has_attr(module, name)) return(reticulate::py_get_attr(module, name))
  }
  kc_abort(sprintf("base class `%s` not found: not an R object, nor in keras_tuner, keras, keras$callbacks or keras$layers.",
               name))
}

# A method of the class: `self` and `super` are bound for each call, KerasTuner
# HyperParameters arrive as the R-friendly `hp`, __init__ returns None. Bodies are taken in
# both forms R users write: the book's and reticulate's, whose methods take `self` first
# (`build <- function(self, hp)`), and keras3's, whose methods omit it
# (`build <- function(hp)`, with `self` available inside). `super()$m()` and `super$m()`
# both call the base class's method.
as_py_method <- function(f, name, holder) {
  if (!is.function(f)) return(f)
  takes_self <- identical(names(formals(f))[1], "self")
  is_init <- identical(name, "__init__")
  force(holder)
  function(self, ...) {
    call_env <- new.env(parent = environment(f))
    call_env$self <- self
    call_env$super <- py_super(holder$cls, self)
    environment(f) <- call_env
    args <- lapply(list(...), function(a) if (is_hyperparameters(a)) wrap_hp(a) else a)
    out <- if (takes_self) do.call(f, c(list(self), args)) else do.call(f, args)
    if (is_init) NULL else out
  }
}

is_hyperparameters <- function(x) {
  inherits(x, "python.builtin.object") && any(grepl("HyperParameters$", class(x)))
}

# `super` inside a method: callable (`super()` gives Python's super(cls, self)) and
# subsettable (`super$method` is the base class's method bound to `self`).
py_super <- function(cls, self) {
  structure(function() reticulate::import_builtins()$super(cls, self), class = "kerascraft_super")
}

#' @export
`$.kerascraft_super` <- function(x, name) {
  unclass(x)()[[name]]
}
