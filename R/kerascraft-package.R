#' kerascraft: tune, retrain, ensemble and scale Keras models
#'
#' The R functions are thin wrappers over kerascraft's Python core, which ships in the
#' package (`inst/python/kerascraft`). Nothing Python starts at `library(kerascraft)`:
#' Python is found and checked on the first call that needs it (see [install_kerascraft()]
#' for how the environment is found).
#'
#' @keywords internal
"_PACKAGE"
