# nbgrader's own commands, run from the repository root, use the course's configuration:
#   nbgrader generate_assignment 01_linear --force     nbgrader autograde 01_linear
# Source is solutions/, release is notebooks/, nbgrader's course folder is grading/nbgrader/
# (submissions go in grading/nbgrader/submitted/<student>/<id>/). Settings: autograder/config.py.
# The exchange (release_assignment, fetch_assignment, submit, collect) is grading/exchange/, or the
# folder $NN273_EXCHANGE names (a shared one on a JupyterHub).
# autograde (and formgrader's Autograde button) grades only through the course's grader, sandboxed,
# in grading/nbgrader/judged/ (autograder/judging/delegate.py); it refuses where there is no sandbox.
# generate_feedback writes the course's feedback pages (autograder/feedback.py), not nbgrader's.
from autograder.config import course_autograde_config, exchange_config, nbgrader_config
from autograder.course import NBGRADER_DIR

NBGRADER_DIR.mkdir(parents=True, exist_ok=True)
c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.merge(course_autograde_config(exchange_config(nbgrader_config(workdir=NBGRADER_DIR))))
