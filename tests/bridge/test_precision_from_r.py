"""Mixed precision from R: policies, scopes, checks and float32 conversion."""

import numpy as np
import pytest
from rpy2.rinterface_lib.embedded import RRuntimeError


@pytest.fixture(autouse=True)
def _float32_after(r):
    yield
    r('invisible(use_mixed_precision("float32"))')


def test_use_mixed_precision_returns_the_choice_and_the_reason(r):
    r('choice <- use_mixed_precision("auto")')
    assert r("class(choice)")[0] == "kerascraft_precision"
    assert r("choice$policy")[0] in ("float32", "mixed_bfloat16", "mixed_float16")
    assert r("keras$config$dtype_policy()$name == choice$policy")[0]
    assert len(r("choice$reason")[0]) > 20
    assert "precision policy:" in "\n".join(r("capture.output(print(choice))"))


def test_with_precision_scope_restores_the_policy_also_after_an_error(r):
    r("""
    invisible(use_mixed_precision("float32"))
    with(precision_scope("mixed_bfloat16"), {
      inside <- keras$layers$Dense(2L)$compute_dtype
    })
    after <- keras$config$dtype_policy()$name
    failed <- tryCatch(with(precision_scope("mixed_float16"), stop("broken block")),
                       error = function(e) conditionMessage(e))
    after_error <- keras$config$dtype_policy()$name
    """)
    assert r("inside")[0] == "bfloat16"
    assert r("after")[0] == "float32"
    assert "broken block" in r("failed")[0]
    assert r("after_error")[0] == "float32"


def test_check_precision_from_r_is_a_data_frame_with_fixes(r):
    r("""
    with(precision_scope("mixed_bfloat16"), {
      bad <- keras$Sequential(list(keras$Input(shape = list(4L)),
                                   keras$layers$Dense(3L, activation = "softmax", name = "probs")))
      good <- keras$Sequential(c(list(keras$Input(shape = list(4L))), output_layers(3)))
    })
    found <- check_precision(bad, x = matrix(runif(8), 2))
    clean <- check_precision(good)
    """)
    assert list(r("names(found)")) == ["layer", "problem", "fix"]
    assert set(r("found$layer")) == {"probs", "(data)"}
    assert r("nrow(clean)")[0] == 0 and list(r("names(clean)")) == ["layer", "problem", "fix"]


def test_as_float32_keeps_r_numbers_float32(r):
    r("""
    m <- as_float32(matrix(c(1, 2, 3, 4), 2))
    d <- as_float32(data.frame(a = c(1.5, 2), b = c(TRUE, FALSE)))
    a <- as_float32(array(1:24, c(2, 3, 4)))
    """)
    assert r("class(m)")[0].startswith("numpy.ndarray")
    assert r("as.character(m$dtype$name)")[0] == "float32"
    assert tuple(r("unlist(reticulate::py_to_r(m$shape))")) == (2, 2)
    assert r("as.character(d$dtype$name)")[0] == "float32"
    assert tuple(r("unlist(reticulate::py_to_r(a$shape))")) == (2, 3, 4)
    np.testing.assert_allclose(np.asarray(r("reticulate::py_to_r(m)")), [[1, 3], [2, 4]])
    with pytest.raises(RRuntimeError, match="non-numeric columns: s"):
        r('as_float32(data.frame(s = "a"))')


def test_benchmark_precision_from_r(r):
    r("""
    build <- function() {
      model <- keras$Sequential(c(list(keras$Input(shape = list(8L)), keras$layers$Dense(16L)),
                                  output_layers(2)))
      model$compile(optimizer = "adam", loss = "sparse_categorical_crossentropy")
      model
    }
    bench <- benchmark_precision(build, list(matrix(rnorm(512), 64), rep(0:1, 32)),
                                 epochs = 1, batch_size = 32, repeats = 1)
    """)
    assert list(r("bench$summary$policy")) == ["float32", "mixed_bfloat16"]
    assert r("bench$summary$ratio[1]")[0] == 1.0
    assert r("nrow(bench$runs)")[0] == 2
