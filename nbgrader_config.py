# nbgrader's own commands, run from the repository root, use the course's configuration:
#   nbgrader generate_assignment 01_linear     nbgrader autograde 01_linear
# The settings live in autograder/config.py, shared with `python -m autograder`.
from autograder.config import nbgrader_config

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.merge(nbgrader_config())
