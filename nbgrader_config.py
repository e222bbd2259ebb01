# nbgrader's own commands, run from the repository root, use the course's configuration:
#   nbgrader generate_assignment 01_linear     nbgrader autograde 01_linear
# Source is solutions/, release is notebooks/, nbgrader's course folder is grading/nbgrader/
# (submissions go in grading/nbgrader/submitted/<student>/<id>/). Settings: autograder/config.py.
from autograder.config import nbgrader_config
from autograder.course import NBGRADER_DIR

NBGRADER_DIR.mkdir(parents=True, exist_ok=True)
c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.merge(nbgrader_config(workdir=NBGRADER_DIR))
