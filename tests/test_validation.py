"""nn273.validation: input errors say what was expected and what arrived."""

import numpy as np
import pytest

from nn273.validation import as_array, check_choice, check_int, check_ndim, check_same_length


def test_check_int():
    assert check_int(np.int64(3), "n", 1) == 3 and type(check_int(np.int64(3), "n", 1)) is int
    with pytest.raises(TypeError, match="n must be an integer; got bool True"):
        check_int(True, "n", 0)
    with pytest.raises(TypeError, match="n must be an integer; got float 2.5"):
        check_int(2.5, "n", 0)
    with pytest.raises(ValueError, match="n must be an integer >= 2; got 1. Ask for more."):
        check_int(1, "n", 2, fix="Ask for more.")
    with pytest.raises(ValueError, match="n must be between 1 and 5; got 6"):
        check_int(6, "n", 1, 5)


def test_arrays_shapes_and_choices():
    assert as_array([1, 2], "x").dtype == np.float64
    with pytest.raises(TypeError, match="x must be array-like of float64 values; got str"):
        as_array("ab", "x")
    with pytest.raises(ValueError, match="X must be 2-D; got an array of shape \\(3,\\)"):
        check_ndim(np.ones(3), "X", 2)
    with pytest.raises(ValueError, match="X and y must have the same number of rows .* got 3 and 2"):
        check_same_length(np.ones(3), np.ones(2), "X", "y")
    with pytest.raises(ValueError, match="name must be one of 'a', 'b'; got 'c'"):
        check_choice("c", "name", ("a", "b"))
