library(testthat)
library(kerascraft)

test_check("kerascraft")
