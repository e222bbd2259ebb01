"""nn273's grading tools, a thin layer over nbgrader's Python API.

The modules follow the grading flow: course (where things live) -> config (nbgrader's settings) ->
release (solutions -> notebooks) -> grade (submissions -> autograde -> grades) -> report (JSON, CSV,
table) -> check (the tests of the tests). hidden/ holds the hidden tests, catalogue/ the known wrong
and right answers they are checked against. Run `python -m autograder --help`.
"""
