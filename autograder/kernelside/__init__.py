"""Code that runs inside a student's grading kernel, and nothing else.

The grader copies this folder (as the package `kernelside`) beside the student edition of `nn273`
into each sandbox. Nothing here is trusted by the grader: the kernel only computes, and whatever it
sends back is decoded as plain data (`wire`) and judged in the grader's process.

    boot    starts IPython with the memory cap (`python -m kernelside.boot -f CONNECTION_FILE`)
    agent   calls a student's function for the grader and encodes the result
    guard   one guarded call of a student's function (also used by the hidden tests in a notebook)
    wire    the data-only encoding, which the grader decodes with too
"""
