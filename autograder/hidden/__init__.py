"""Hidden tests, one module per assignment, called from the `BEGIN HIDDEN TESTS` block of its test cells.

Each module exposes `test_<function>(student_function, ...)`, which raises `HiddenTestFailure` with a
message a student can act on, and writes nothing to stderr when the function is right.
"""
