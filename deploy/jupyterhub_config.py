# JupyterHub for the nn273 course on one machine (deploy/README.md; tested by tests/test_hub.py):
# - local Unix users log in with their passwords (PAM); members of the Unix groups nn273-students
#   and nn273-instructors, nobody else;
# - a student's server runs the student edition's environment with its hub/ configuration: the
#   Assignments tab (fetch, submit, fetch feedback) and Validate, nothing of the instructors' side;
# - an instructor's server runs the course (a clone of the repository, with its .venv): formgrader
#   reads the course's nbgrader_config.py, and Autograde grades judged and sandboxed;
# - nbgrader's exchange is one folder on this machine, with the permissions nbgrader gives it.
# The hub runs as root (it starts each server as its user): `jupyterhub -f deploy/jupyterhub_config.py`.
# Every path below can be changed with the environment variable named beside it.
import grp
import os
import pwd
from pathlib import Path

COURSE = Path(os.environ.get("NN273_HUB_COURSE", "/home/instructor/nn273"))  # the instructors' clone
EDITION = Path(os.environ.get("NN273_HUB_EDITION", "/opt/nn273"))  # python -m autograder edition OUT
EXCHANGE = Path(os.environ.get("NN273_EXCHANGE", "/srv/nbgrader/exchange"))
STATE = Path(os.environ.get("NN273_HUB_STATE", "/srv/jupyterhub"))  # the hub's database and secrets
STUDENTS = os.environ.get("NN273_HUB_STUDENTS_GROUP", "nn273-students")
INSTRUCTORS = os.environ.get("NN273_HUB_INSTRUCTORS_GROUP", "nn273-instructors")
COURSE_ID = "nn273"  # autograder/config.py's COURSE_ID, as the course's and the edition's configurations set it

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.JupyterHub.bind_url = os.environ.get("NN273_HUB_URL", "http://127.0.0.1:8000")
STATE.mkdir(parents=True, exist_ok=True, mode=0o700)
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every server it started

c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_groups = {STUDENTS, INSTRUCTORS}  # nobody else, not even root
c.Authenticator.admin_users = set()  # a hub admin could open every student's server: nobody is one

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120  # a server's first start imports torch; a busy machine takes its time
c.Spawner.http_timeout = 120


def members(group):
    """The user names of Unix group `group` (primary or supplementary); empty if it does not exist."""
    try:
        entry = grp.getgrnam(group)
    except KeyError:
        return set()
    return set(entry.gr_mem) | {u.pw_name for u in pwd.getpwall() if u.pw_gid == entry.gr_gid}


def course_server(spawner):
    """Each server by its user's role: an instructor gets the course, a student the edition."""
    name = spawner.user.name
    if name in members(INSTRUCTORS):
        # JUPYTER_CONFIG_PATH: deploy/instructor/ (formgrader in JupyterLab's frame) and the course's
        # root, whose nbgrader_config.py formgrader reads: grading/nbgrader/, judged Autograde.
        spawner.cmd = [str(COURSE / ".venv" / "bin" / "jupyterhub-singleuser")]
        spawner.notebook_dir = str(COURSE)
        spawner.environment = {
            "JUPYTER_CONFIG_PATH": os.pathsep.join([str(COURSE / "deploy" / "instructor"), str(COURSE)]),
            "NN273_EXCHANGE": str(EXCHANGE),
        }
    elif name in members(STUDENTS):
        spawner.cmd = [str(EDITION / ".venv" / "bin" / "jupyterhub-singleuser")]
        spawner.notebook_dir = "~"
        spawner.environment = {"JUPYTER_CONFIG_PATH": str(EDITION / "hub"), "NN273_EXCHANGE": str(EXCHANGE)}
    else:
        raise PermissionError(f"{name} is in neither {STUDENTS} nor {INSTRUCTORS}")


c.Spawner.pre_spawn_hook = course_server


def exchange():
    """nbgrader's exchange with nbgrader's permissions, made here, by root, before anyone logs in:
    the root writable by all (sticky: nobody removes what others made), and the course's folder made
    for its first instructor, so that no student can make it first. Students write into inbound/
    but cannot list it; feedback/ can be read by a page's hash only."""
    EXCHANGE.mkdir(parents=True, exist_ok=True)
    EXCHANGE.chmod(0o1777)
    instructors = sorted(members(INSTRUCTORS))
    if not instructors:
        return
    owner = pwd.getpwnam(instructors[0])
    course = EXCHANGE / COURSE_ID
    for folder, mode in ((course, 0o755), (course / "outbound", 0o755), (course / "inbound", 0o2733),
                         (course / "feedback", 0o711)):  # fmt: skip
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise RuntimeError(f"{folder} is not a folder: remove it, then start the hub again")
        folder.mkdir(exist_ok=True)
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        folder.chmod(mode)


exchange()
