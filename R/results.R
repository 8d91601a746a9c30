# kerascraft's R result objects, each made by one constructor that checks what it wraps
# (as tidymodels' stacks does): a wrong object is refused where it is made, not where it
# is first used.

# craft(): the core's CraftResult, its tables as data frames (the core's frames(), so the
# same tables as the summary and the HTML report), the set-up and the classes.
new_kerascraft_craft <- function(py) {
  tables <- lapply(kc_wrap(py)$tables(), columns_to_df)
  setup <- py$setup
  setup$steps_table <- NULL
  validate_kerascraft_craft(structure(
    c(tables, list(setup = setup, classes = unlist(py$classes), task = py$task,
                   directory = py$directory, py = py)),
    class = "kerascraft_craft"))
}

validate_kerascraft_craft <- function(x) {
  expected <- unlist(x$py$TABLES)
  missing <- setdiff(expected, names(x))
  if (length(missing) > 0 || !all(vapply(x[expected], is.data.frame, logical(1)))) {
    kc_abort("a craft() result needs the tables ", paste(expected, collapse = ", "),
             " as data frames; missing: ", paste(missing, collapse = ", "), ".",
             class = "kerascraft_error")
  }
  if (!x$task %in% c("classification", "regression")) {
    kc_abort("a craft() result's task must be classification or regression, got ",
             format(x$task), ".", class = "kerascraft_error")
  }
  x
}

# fit_ensemble() / load_ensemble(): the core's Ensemble.
new_kerascraft_ensemble <- function(py) {
  validate_kerascraft_ensemble(structure(list(py = py), class = "kerascraft_ensemble"))
}

validate_kerascraft_ensemble <- function(x) {
  py <- x$py
  if (!inherits(py, "python.builtin.object") || !reticulate::py_has_attr(py, "weights") ||
      !reticulate::py_has_attr(py, "predict")) {
    kc_abort("a kerascraft_ensemble wraps the core's Ensemble; got ", class(py)[1], ".",
             class = "kerascraft_error")
  }
  x
}
