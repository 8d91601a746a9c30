# Print the pin set (a file in inst/python) that fits the installed reticulate: the rule is
# the R package's own (kc_pin_set() in R/install.R), read from the source tree so that it
# runs before the package is installed.
rule <- new.env()
for (f in c("R/python.R", "R/install.R")) sys.source(f, envir = rule)
cat(rule$kc_pin_set(), "\n", sep = "")
