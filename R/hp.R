# The `hp` an R build function receives: KerasTuner's HyperParameters, with the sampling
# methods taking R values (doubles where integers are meant, character vectors of choices)
# and everything else passed through to the Python object.

wrap_hp <- function(hp) structure(list(py = hp), class = "kerascraft_hp")

hp_int <- function(hp, name, min_value, max_value, step = NULL, sampling = "linear",
                   default = NULL, parent_name = NULL, parent_values = NULL) {
  whole <- function(value, arg) {
    if (is.null(value) || is.integer(value)) return(value)
    if (!is_whole(value)) {
      kc_abort(sprintf("hp$Int(\"%s\"): %s must be a whole number, got %s. Use hp$Float() for real numbers.",
                   name, arg, format(value)))
    }
    as.integer(value)
  }
  hp$Int(name, whole(min_value, "min_value"), whole(max_value, "max_value"),
         step = whole(step, "step"), sampling = sampling, default = whole(default, "default"),
         parent_name = parent_name, parent_values = hp_values(parent_values))
}

hp_float <- function(hp, name, min_value, max_value, step = NULL, sampling = "linear",
                     default = NULL, parent_name = NULL, parent_values = NULL) {
  num <- function(value) if (is.null(value)) NULL else as.numeric(value)
  hp$Float(name, num(min_value), num(max_value), step = num(step), sampling = sampling,
           default = num(default), parent_name = parent_name,
           parent_values = hp_values(parent_values))
}

# Choice values and parent values: always a Python list (a length-one R vector would
# otherwise become a scalar), whole doubles as integers, factors as their labels.
hp_values <- function(values) {
  if (is.null(values)) return(NULL)
  if (is.factor(values)) values <- as.character(values)
  as.list(as_integer_if_whole(values))
}

hp_choice <- function(hp, name, values, ordered = NULL, default = NULL,
                      parent_name = NULL, parent_values = NULL) {
  if (length(values) == 0) kc_abort(sprintf("hp$Choice(\"%s\"): values is empty.", name))
  hp$Choice(name, hp_values(values), ordered = ordered,
            default = if (is.null(default)) NULL else hp_values(default)[[1]],
            parent_name = parent_name, parent_values = hp_values(parent_values))
}

hp_boolean <- function(hp, name, default = FALSE, parent_name = NULL, parent_values = NULL) {
  hp$Boolean(name, default = isTRUE(default), parent_name = parent_name,
             parent_values = hp_values(parent_values))
}

hp_fixed <- function(hp, name, value, parent_name = NULL, parent_values = NULL) {
  hp$Fixed(name, as_integer_if_whole(value), parent_name = parent_name,
           parent_values = hp_values(parent_values))
}

hp_conditional_scope <- function(hp, parent_name, parent_values) {
  hp$conditional_scope(parent_name, hp_values(parent_values))
}

hp_methods <- list(Int = hp_int, Float = hp_float, Choice = hp_choice, Boolean = hp_boolean,
                   Fixed = hp_fixed, conditional_scope = hp_conditional_scope)

#' @export
`$.kerascraft_hp` <- function(x, name) {
  hp <- .subset2(x, "py")
  method <- hp_methods[[name]]
  if (!is.null(method)) return(function(...) method(hp, ...))
  reticulate::py_to_r(reticulate::py_get_attr(hp, name))
}

#' @export
`[[.kerascraft_hp` <- function(x, name) `$.kerascraft_hp`(x, name)

#' @export
print.kerascraft_hp <- function(x, ...) {
  print(.subset2(x, "py"))
  invisible(x)
}

#' @exportS3Method reticulate::r_to_py
r_to_py.kerascraft_hp <- function(x, convert = FALSE) .subset2(x, "py")
