"""A week of the course on a real JupyterHub (deploy/jupyterhub_config.py), through the browser.

As root, the test makes three Unix users (instructor in nn273-instructors; ada and ben in
nn273-students) with test passwords, and starts the hub of deploy/ on 127.0.0.1 with its PAM login,
configurable-http-proxy and each user's own single-user server:

- the instructor's course: a copy of this repository in /home/instructor/nn273, the deploy's place;
- the students' edition: `python -m autograder edition` through 01_linear, with its hub/ folder.

Both environments are this test's own, relinked (hard links, so seconds rather than minutes of
installing torch twice): the course's with the copy's autograder and nn273 on its path, the
edition's without the course's packages and with the edition's nn273.

Then, in headless Chromium: the instructor generates and releases 01_linear in formgrader; ada logs
in, fetches it in the Assignments tab, types her answers into the cells, validates and submits; ben
(in a shell as himself, as a terminal on his server would) submits a notebook that tries to read
ada's work and the course's files, then plants in the exchange's inbound folder a submission whose
notebook is a link to the solution, one whose folder is a link, and one that claims to be ada's; the
instructor collects, autogrades (the judged path), grades ada's answer in words by hand, generates
and releases feedback; ada fetches her feedback and opens the course's page.

Screenshots go to $NN273_SCREENSHOTS, else hub-artifacts/ at the repository root. Skips, saying
why, when not root, without Chromium, node's configurable-http-proxy, or bubblewrap/unshare.
"""

import contextlib
import grp
import html
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from autograder.course import COURSE, ROOT

pytestmark = pytest.mark.slow

if os.geteuid() != 0:
    pytest.skip(
        "the hub test makes Unix users and runs JupyterHub as root: run it as root (.ci/run does)",
        allow_module_level=True,
    )
CHP = shutil.which("configurable-http-proxy")
if CHP is None:
    pytest.skip(
        "no configurable-http-proxy: `npm install -g configurable-http-proxy@4.6.3` "
        "(node from `apt-get install nodejs npm`; .ci/run installs both)",
        allow_module_level=True,
    )
pytest.importorskip("jupyterhub", reason="JupyterHub is not installed: requirements.txt pins it")

from one_path import ONES_LAST, ONES_LAST_DIAGNOSIS, PROBE_MARK, hidden_lines, released  # noqa: E402
from test_browser import CHROMIUM, LAB_SETTINGS, sync_api  # noqa: E402  (skips without Chromium)
from test_formgrader_browser import click_and_read_modal, row_of, shown_score  # noqa: E402

from autograder.sandbox.namespaces import find_sandbox  # noqa: E402

ASSIGNMENT = "01_linear"
INSTRUCTOR, ADA, BEN = "instructor", "ada", "ben"
STUDENTS_GROUP, INSTRUCTORS_GROUP = "nn273-students", "nn273-instructors"
USERS = {INSTRUCTOR: INSTRUCTORS_GROUP, ADA: STUDENTS_GROUP, BEN: STUDENTS_GROUP}
MARK = "nn273 hub test"  # the GECOS field of the users this test makes (and removes)
COURSE_HOME = Path("/home/instructor/nn273")  # deploy/jupyterhub_config.py's default
VENV = Path(sys.prefix)
HUB_START_S = 60
SPAWN_S = 180  # a server's first start, torch imported on a busy machine
BUTTON_S = 300  # one formgrader action: Autograde grades a notebook, up to a minute or two here
VALIDATE_S = 300
ANSWER_IN_WORDS = "question_two_points"
ADA_WORDS = "Two points: any two points determine one line, so a linear classifier separates them."
ARTIFACTS = Path(os.environ.get("NN273_SCREENSHOTS") or ROOT / "hub-artifacts")

if sys.prefix == sys.base_prefix:
    pytest.skip("the hub test relinks the virtual environment it runs in: run it in one", allow_module_level=True)


# ---- the machine: users, folders, environments ----------------------------------------------------


def sh(*command, user=None, env=None, cwd=None, check=True, timeout=300):
    """Run `command`, as `user` if given (runuser, a login environment of that user)."""
    if user:
        command = ("runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in (env or {}).items()),
                   *command)  # fmt: skip
        env = None
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode:
        pytest.fail(f"{' '.join(map(str, command))} exited {done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}")
    return done


def ours(name):
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name).pw_gecos == MARK
    return False


def remove_users():
    """Remove the test's users (only those it made: GECOS == MARK), their homes and processes."""
    for name in USERS:
        if ours(name):
            uid = pwd.getpwnam(name).pw_uid
            for pid in processes_of({uid}):
                with contextlib.suppress(OSError):
                    os.kill(pid, 9)
            sh("userdel", "-r", "-f", name, check=False)
    for group in (STUDENTS_GROUP, INSTRUCTORS_GROUP):
        with contextlib.suppress(KeyError):
            if not grp.getgrnam(group).gr_mem:
                sh("groupdel", group, check=False)


def make_users():
    """instructor, ada and ben with random passwords; homes only their owner may enter."""
    remove_users()  # a run that died before its end
    taken = [name for name in USERS if not ours(name) and _exists(name)]
    if taken:
        pytest.skip(f"users {', '.join(taken)} exist on this machine and are not the test's own")
    passwords = {}
    for name, group in USERS.items():
        sh("groupadd", "-f", group)
        sh("useradd", "-m", "-c", MARK, "-s", "/bin/bash", "-G", group, name)
        passwords[name] = secrets.token_urlsafe(12)
        Path(pwd.getpwnam(name).pw_dir).chmod(0o700)
    subprocess.run(["chpasswd"], input="".join(f"{n}:{p}\n" for n, p in passwords.items()), text=True, check=True)
    return passwords


def _exists(name):
    with contextlib.suppress(KeyError):
        return bool(pwd.getpwnam(name))
    return False


def processes_of(uids):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid in uids:
                    found.append(int(entry.name))
    return found


def _command(pid):
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:200]
    return ""


def relink_venv(dest, paths):
    """A copy of this test's virtual environment at `dest`, made of hard links, with its scripts
    pointing at it, without the repository's editable nn273/autograder, and with `paths` (folders)
    on its sys.path instead. The files stay root's: nobody can change them."""
    subprocess.run(["cp", "-al", str(VENV), str(dest)], check=True)
    old, new = str(VENV).encode(), str(dest).encode()
    for script in (dest / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            data = script.read_bytes()
            if old in data:
                script.unlink()  # a hard link: write a new file, never into the shared one
                script.write_bytes(data.replace(old, new))
                script.chmod(0o755)
    site = next((dest / "lib").glob("python3*/site-packages"))
    for entry in site.glob("__editable__*"):
        entry.unlink()
    for entry in site.glob("nn273-*.dist-info"):
        shutil.rmtree(entry)
    (site / "nn273_hub_test.pth").write_text("".join(f"{p}\n" for p in paths))
    return dest


def prune_venv(dest, requirements):
    """Leave in the relinked environment at `dest` only what the recipe installs for students (the
    edition's `requirements`, a requirements.txt, plus jupyterhub for jupyterhub-singleuser, with
    what they need) and pip: every other distribution's files are unlinked (hard links: the test's
    own environment keeps them). Returns the names removed."""
    from packaging.utils import canonicalize_name

    from autograder.edition import _closure

    def pins(text):
        return {
            canonicalize_name(line.split("==", 1)[0]): line.strip()
            for line in text.splitlines() if re.match(r"^[A-Za-z0-9._-]+==", line.strip())
        }

    lock = pins((ROOT / "requirements.txt").read_text())
    keep = set(pins(Path(requirements).read_text())) | _closure({"jupyterhub"}, lock) | {"pip"}
    site = next((dest / "lib").glob("python3*/site-packages"))
    removed, tops = [], set()
    for info in sorted(site.glob("*.dist-info")):
        name = canonicalize_name(info.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        if name in keep:
            continue
        for line in (info / "RECORD").read_text().splitlines():
            path = (site / line.split(",")[0]).resolve()
            if path.is_relative_to(dest.resolve()) and path.is_file():
                path.unlink()
                if path.is_relative_to(site):
                    tops.add(site / path.relative_to(site).parts[0])
        shutil.rmtree(info)
        removed.append(name)
    # a package's folder left with only the caches Python wrote (no RECORD lists them) would still
    # import, as an empty namespace package: gone too, unless a kept distribution has files there
    for top in tops:
        if top.is_dir() and not any(f.is_file() and "__pycache__" not in f.parts for f in top.rglob("*")):
            shutil.rmtree(top)
    return removed


def base_interpreter():
    """The interpreter under this environment, which the servers run as their users."""
    return os.path.realpath(VENV / "bin" / "python3")


def grant_traverse(path):
    """Let every user reach `path` (the interpreter: a pyenv under /root, say, is root's alone): o+x on
    each folder above it that lacks it. Returns [(folder, its mode)] to put back at the end. The
    system's interpreter is no substitute: another patch release can break the pinned packages."""
    changed = []
    for parent in reversed(Path(path).parents):
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod((mode | 0o001) & 0o7777)
            changed.append((parent, mode & 0o7777))
    return changed


def take_back(granted):
    """Undo grant_traverse, where nobody else changed a folder's mode since."""
    for folder, mode in granted:
        if folder.stat().st_mode & 0o7777 == (mode | 0o001):
            folder.chmod(mode)


def copy_course(dest):
    """The repository's course files (no environment, git or grading state) at `dest`, the
    instructor's, with an environment of its own."""
    ignore = shutil.ignore_patterns(".venv", ".git", "grading", "*-artifacts", "__pycache__", ".pytest_cache",
                                    ".hypothesis", "*.egg-info")  # fmt: skip
    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    owner = pwd.getpwnam(INSTRUCTOR)
    for path in [dest, *dest.rglob("*")]:
        os.lchown(path, owner.pw_uid, owner.pw_gid)
    relink_venv(dest / ".venv", [dest])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the hub --------------------------------------------------------------------------------------


class Hub:
    """deploy/jupyterhub_config.py (the repository's, root's) run by this environment's JupyterHub."""

    def __init__(self, base, course, edition, exchange):
        self.url = f"http://127.0.0.1:{free_port()}"
        self.state = base / "state"
        self.log = base / "hub.log"
        env = {
            **os.environ,
            "NN273_HUB_COURSE": str(course), "NN273_HUB_EDITION": str(edition),
            "NN273_EXCHANGE": str(exchange), "NN273_HUB_STATE": str(self.state),
            "NN273_HUB_URL": self.url,
            "PATH": os.pathsep.join([str(Path(CHP).parent), os.environ.get("PATH", "")]),
        }  # fmt: skip
        command = [
            sys.executable, "-m", "jupyterhub", "-f", str(ROOT / "deploy" / "jupyterhub_config.py"),
            f"--JupyterHub.hub_bind_url=http://127.0.0.1:{free_port()}",
            f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}",
        ]  # fmt: skip
        self._log = self.log.open("w")
        self.process = subprocess.Popen(command, cwd=base, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)  # fmt: skip

    def wait_until_up(self):
        deadline = time.monotonic() + HUB_START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"jupyterhub exited ({self.process.returncode}):\n{self.tail()}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.url}/hub/api/", timeout=5) as answer:
                    return json.loads(answer.read())
            time.sleep(0.5)
        pytest.fail(f"jupyterhub did not answer within {HUB_START_S} s:\n{self.tail()}")

    def stop(self):
        """SIGTERM: the hub stops every server it started and its proxy; then whatever is left of
        its process group is killed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, 9)
        self._log.close()

    def tail(self, lines=40):
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


# ---- the week -------------------------------------------------------------------------------------


@dataclass(repr=False)
class Week:
    base: Path
    course: Path
    edition: Path
    exchange: Path
    steps: dict = field(default_factory=dict)  # step -> seconds
    screenshots: list = field(default_factory=list)
    dialogs: dict = field(default_factory=dict)  # formgrader action -> (title, text)
    shown: dict = field(default_factory=dict)  # student -> formgrader's (score, max)
    ben_probe: list = field(default_factory=list)  # lines ben's probe printed, as ben
    ada_submitted: bytes = b""  # the notebook ada submitted (her copy in the exchange's cache)
    ada_collected: bytes = b""  # the notebook collect put in the course's submitted/ada/
    ben_collected: dict = field(default_factory=dict)  # what collect put in submitted/ben/: name -> kind
    ben_graded_probe: list = field(default_factory=list)  # the probe's lines in ben's autograded notebook
    fetched: Path = None
    fetched_text: str = ""
    validate_text: str = ""
    csp: str = ""  # formgrader's Content-Security-Policy on the instructor's server
    leftover: list = field(default_factory=list)  # processes of the test's users after the end
    ben_error: BaseException = None  # what stopped ben's thread
    pruned: list = field(default_factory=list)  # distributions left out of the students' environment


class Clock:
    def __init__(self, week):
        self.week, self.last = week, time.monotonic()

    def lap(self, step):
        now = time.monotonic()
        self.week.steps[step] = round(now - self.last, 1)
        self.last = now


@pytest.fixture(scope="module")
def week(pytestconfig):
    try:
        find_sandbox()
    except Exception as exc:  # noqa: BLE001 - any reason there is no sandbox
        pytest.skip(f"no sandbox for the judged Autograde: {exc}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="nn273-hub-"))
    base.chmod(0o755)  # the edition and the exchange below are everyone's
    result = Week(base, COURSE_HOME, base / "edition", base / "exchange")
    clock = Clock(result)
    hub, granted = None, []
    try:
        granted = grant_traverse(base_interpreter())
        passwords = make_users()
        copy_course(result.course)
        from autograder.edition import build_edition

        build_edition(result.edition, ASSIGNMENT, check_release=False)  # test_edition checks the release
        relink_venv(result.edition / ".venv", [result.edition])
        # the students' environment holds what the recipe installs there, and no more (pytest,
        # dask, the instructors' tools are gone): the servers show that the edition's pins suffice
        result.pruned = prune_venv(result.edition / ".venv", result.edition / "requirements.txt")
        sh("chmod", "-R", "a+rX", str(result.edition))
        clock.lap("users, the course's and the edition's folders and environments")
        hub = Hub(base, result.course, result.edition, result.exchange)
        hub.wait_until_up()
        clock.lap("hub and proxy up")
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
            )
            try:
                run_the_week(browser, hub, passwords, result, clock)
            finally:
                browser.close()
    finally:
        if hub:
            hub.stop()
            uids = {pwd.getpwnam(n).pw_uid for n in USERS if _exists(n)}
            deadline = time.monotonic() + 20  # servers and kernels take a moment to exit
            while processes_of(uids) and time.monotonic() < deadline:
                time.sleep(0.5)
            result.leftover = [(pid, _command(pid)) for pid in processes_of(uids)]
            if hub.log.is_file():
                shutil.copyfile(hub.log, ARTIFACTS / "hub.log")
        remove_users()
        shutil.rmtree(base, ignore_errors=True)
        take_back(granted)
        clock.lap("the end: hub, servers and users gone")
        with pytestconfig.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
            print("\nthe week on the hub, seconds per step:")
            for step, seconds in result.steps.items():
                print(f"  {seconds:6.1f}  {step}")
            print("".join(f"\nscreenshot: {shot}" for shot in result.screenshots))
    yield result


def run_the_week(browser, hub, passwords, week, clock):
    pages = {}

    def page_of(user):
        if user not in pages:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.set_default_timeout(30_000)
            pages[user] = page
        return pages[user]

    try:
        teacher, student = page_of(INSTRUCTOR), page_of(ADA)
        lab_settings(ADA)
        log_in(teacher, hub, INSTRUCTOR, passwords[INSTRUCTOR])
        log_in(student, hub, ADA, passwords[ADA])  # both servers start side by side
        server_up(teacher, INSTRUCTOR)
        server_up(student, ADA)
        clock.lap("instructor and ada: log in, servers started, ada's JupyterLab loaded")
        release(teacher, hub, week)
        clock.lap("instructor: generate and release 01_linear in formgrader")

        bens = threading.Thread(target=ben, args=(week,), daemon=True)  # ben works beside ada
        bens.start()
        fetch(student, week)
        clock.lap("ada: fetch in the Assignments tab")
        answer(student)
        clock.lap("ada: type the answers into the cells, save")
        validate_and_submit(student, week)
        clock.lap("ada: validate and submit")
        bens.join(timeout=300)
        if week.ben_error:
            raise week.ben_error
        clock.lap("ben (beside ada): probe as himself, submit, plant links and a forged submission")

        grade(teacher, hub, week)
        clock.lap("instructor: collect, autograde ada and ben, grade ada's words, feedback")

        fetch_feedback(student, week)
        clock.lap("ada: fetch feedback, open the page")
    except Exception:
        for user, page in pages.items():
            with contextlib.suppress(sync_api.Error):
                page.screenshot(path=ARTIFACTS / f"failure-{user}.png", full_page=True)
        print(f"the pages at the failure: {ARTIFACTS}/failure-*.png; the hub's log: {hub.log}\n{hub.tail()}")
        raise


def log_in(page, hub, user, password):
    """The hub's login page: user name and password; the hub then starts the user's server."""
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_url(re.compile(r"/hub/spawn|/user/"))


def server_up(page, user):
    page.wait_for_url(re.compile(rf"/user/{user}/lab"), timeout=SPAWN_S * 1000)
    if user != INSTRUCTOR:
        page.wait_for_selector("#jp-main-dock-panel", timeout=SPAWN_S * 1000)


def lab_settings(user):
    """JupyterLab settings of `user` (their own file, as their preferences): every cell in the page,
    no news."""
    home = Path(pwd.getpwnam(user).pw_dir)
    owner = pwd.getpwnam(user)
    for plugin, values in LAB_SETTINGS.items():
        path = home / ".jupyter" / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    for path in [home / ".jupyter", *(home / ".jupyter").rglob("*")]:
        os.lchown(path, owner.pw_uid, owner.pw_gid)


def formgrader(page, hub, where="manage_assignments"):
    page.goto(f"{hub.url}/user/{INSTRUCTOR}/formgrader/{where}")


def assignment_row(page):
    return page.locator("#main-table tr").filter(
        has=page.locator("td.name", has_text=re.compile(rf"^\s*{ASSIGNMENT}\s*$"))
    )


def release(page, hub, week):
    answer = page.goto(f"{hub.url}/user/{INSTRUCTOR}/formgrader/manage_assignments")
    week.csp = answer.headers.get("content-security-policy", "")
    row = assignment_row(page)
    sync_api.expect(row).to_have_count(1, timeout=60_000)
    week.dialogs["generate"] = click_and_read_modal(page, row.locator("td.assign a"), BUTTON_S)
    sync_api.expect(row.locator("td.release a")).to_have_count(1)
    week.dialogs["release"] = click_and_read_modal(page, row.locator("td.release a"), BUTTON_S)


def open_assignments_tab(page):
    page.locator(".lm-MenuBar-item", has_text="Nbgrader").click()
    page.locator(".lm-Menu-item[data-command='nbgrader:open-assignment-list']").click()
    return page.locator("#nbgrader-assignment-list")


def fetch(page, week):
    tab = open_assignments_tab(page)
    released_row = tab.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
    sync_api.expect(released_row).to_have_count(1, timeout=60_000)
    shot = ARTIFACTS / "ada-assignments-tab.png"
    page.screenshot(path=shot)
    week.screenshots.append(shot)
    released_row.locator("button", has_text="Fetch").click()
    fetched = tab.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT)
    sync_api.expect(fetched.first).to_be_visible(timeout=60_000)


def solution_answers():
    """grade_id -> what ada types: the solution's answer cells without the solution markers."""
    answers = {}
    for cell in nbformat.read(COURSE.solution_path(ASSIGNMENT), as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            lines = [line for line in cell.source.splitlines() if "BEGIN SOLUTION" not in line
                     and "END SOLUTION" not in line]  # fmt: skip
            answers[meta["grade_id"]] = "\n".join(lines) if cell.cell_type == "code" else ADA_WORDS
    answers["add_constant_feature"] = ONES_LAST  # one known mistake, which her feedback diagnoses
    return answers


def answer(page):
    """Open the fetched notebook and type each answer into its cell; save."""
    page.goto(page.url.split("/lab")[0] + f"/lab/tree/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    cells = notebook.locator(".jp-Cell")
    full = nbformat.read(COURSE.release_path(ASSIGNMENT), as_version=4).cells  # ada's, cell for cell
    sync_api.expect(cells).to_have_count(len(full), timeout=120_000)
    answers = solution_answers()
    for index, cell in enumerate(full):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id not in answers:
            continue
        target = cells.nth(index)
        target.scroll_into_view_if_needed()
        if cell.cell_type == "markdown":
            target.dblclick()
        editor = target.locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(answers[grade_id])
        page.keyboard.press("Escape")
    page.keyboard.press("Control+S")
    page.wait_for_timeout(1500)


def validate_and_submit(page, week):
    tab = open_assignments_tab(page)
    fetched = tab.locator("#fetched_assignments_list")
    fetched.locator("a.assignment-notebooks-link").first.click()  # shows its notebooks
    fetched.locator("button", has_text="Validate").first.click()
    dialog = page.locator(".jp-Dialog")
    sync_api.expect(dialog).to_be_visible(timeout=VALIDATE_S * 1000)
    week.validate_text = dialog.inner_text()
    dialog.locator("button").last.click()
    fetched.locator("button", has_text="Submit").first.click()
    submitted = tab.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT)
    sync_api.expect(submitted.first).to_be_visible(timeout=60_000)
    cache = Path(pwd.getpwnam(ADA).pw_dir) / ".local/share/jupyter/nbgrader_cache/nn273"
    copies = sorted(cache.glob(f"{ADA}+{ASSIGNMENT}+*/{ASSIGNMENT}.ipynb"))
    week.ada_submitted = copies[-1].read_bytes() if copies else b""


# ---- ben ------------------------------------------------------------------------------------------


def probe_source(week):
    """What ben's first cell tries: ada's work, the course's files, the exchange's folders."""
    ada_home = Path(pwd.getpwnam(ADA).pw_dir)
    targets = {
        "ada's notebook": ada_home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        "ada's home": ada_home,
        "the course's solution": week.course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        "the course's hidden tests": week.course / "autograder" / "hidden" / "linear.py",
        "the gradebook": week.course / "grading" / "nbgrader" / "gradebook.db",
        "ada's collected notebook": week.course / "grading" / "nbgrader" / "submitted" / ADA / ASSIGNMENT,
        "the exchange's inbound": week.exchange / "nn273" / "inbound",
        "the exchange's feedback": week.exchange / "nn273" / "feedback",
    }
    return f'''\
import os
for what, path in {json.dumps({k: str(v) for k, v in targets.items()})}.items():
    try:
        if os.path.isdir(path):
            print("{PROBE_MARK} READ", what, sorted(os.listdir(path)))
        else:
            with open(path, "rb") as f:
                print("{PROBE_MARK} READ", what, len(f.read()))
    except OSError as exc:
        print("{PROBE_MARK} NOT READ", what, type(exc).__name__)
'''


def ben_notebook(week):
    """The released notebook, unanswered, with the probe as its second code cell."""
    nb = released()
    at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code") + 1
    nb.cells.insert(at, nbformat.v4.new_code_cell(probe_source(week)))
    return nb


def ben(week):
    """ben, in his own shell: runs his probe, fetches and submits the probe notebook with a
    sitecustomize.py beside it, then writes into the exchange's inbound folder by hand."""
    try:
        _ben(week)
    except BaseException as exc:  # noqa: BLE001 - raised again in the main thread
        week.ben_error = exc


def _ben(week):
    home = Path(pwd.getpwnam(BEN).pw_dir)
    env = {"HOME": str(home), "USER": BEN, "PATH": f"{week.edition}/.venv/bin:/usr/bin:/bin",
           "JUPYTER_CONFIG_PATH": str(week.edition / "hub"), "NN273_EXCHANGE": str(week.exchange)}  # fmt: skip
    python = str(week.edition / ".venv" / "bin" / "python")
    probe = sh(python, "-c", probe_source(week), user=BEN, env=env, cwd="/")
    week.ben_probe = [line for line in probe.stdout.splitlines() if line.startswith(PROBE_MARK)]
    sh("bash", "-c", f"cd ~ && nbgrader fetch_assignment {ASSIGNMENT}", user=BEN, env=env)
    folder = home / ASSIGNMENT
    nbformat.write(ben_notebook(week), folder / f"{ASSIGNMENT}.ipynb")
    (folder / "sitecustomize.py").write_text("import builtins\nbuiltins.GRADE = 'full marks'\n")
    owner = pwd.getpwnam(BEN)
    for path in folder.iterdir():
        os.lchown(path, owner.pw_uid, owner.pw_gid)
    # run in ben's home: nbgrader submit finds the assignment folder in the current folder
    sh("bash", "-c", f"cd ~ && nbgrader submit {ASSIGNMENT}", user=BEN, env=env)
    inbound = week.exchange / "nn273" / "inbound"
    solution = week.course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    plant = f"""
import os, sys
inbound, solution, later, even_later = sys.argv[1:5]
# 1. a later submission of his own whose notebook is a link to the course's solution
mine = os.path.join(inbound, "ben+{ASSIGNMENT}+" + later + " UTC+link")
os.mkdir(mine)
os.symlink(solution, os.path.join(mine, "{ASSIGNMENT}.ipynb"))
os.symlink("/home/{ADA}", os.path.join(mine, "ada-home"))
with open(os.path.join(mine, "timestamp.txt"), "w") as f:
    f.write(later + " UTC")
# 2. a submission folder that is itself a link to the course's solution folder
os.symlink(os.path.dirname(solution), os.path.join(inbound, "ben+{ASSIGNMENT}+" + even_later + " UTC+folder"))
# 3. a submission that claims to be ada's, later than hers
forged = os.path.join(inbound, "{ADA}+{ASSIGNMENT}+" + later + " UTC+forged")
os.mkdir(forged)
with open(os.path.join(forged, "{ASSIGNMENT}.ipynb"), "w") as f:
    f.write(open(os.path.expanduser("~/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")).read())
with open(os.path.join(forged, "timestamp.txt"), "w") as f:
    f.write(later + " UTC")
os.chmod(forged, 0o777)
print("planted")
"""
    later = "2099-01-01 00:00:00.000000"
    sh(python, "-c", plant, str(inbound), str(solution), later, "2099-01-02 00:00:00.000000", user=BEN, env=env, cwd="/")


# ---- the instructor grades -------------------------------------------------------------------------


def grade(page, hub, week):
    formgrader(page, hub)
    row = assignment_row(page)
    sync_api.expect(row.locator("td.collect a")).to_have_count(1, timeout=60_000)
    week.dialogs["collect"] = click_and_read_modal(page, row.locator("td.collect a"), BUTTON_S)
    submitted = week.course / "grading" / "nbgrader" / "submitted"
    with contextlib.suppress(OSError):
        week.ada_collected = (submitted / ADA / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes()
    week.ben_collected = {
        p.name: "link" if p.is_symlink() else "folder" if p.is_dir() else "file"
        for p in (submitted / BEN / ASSIGNMENT).iterdir()
    } if (submitted / BEN / ASSIGNMENT).is_dir() else {}
    formgrader(page, hub, f"manage_submissions/{ASSIGNMENT}")
    for student in (ADA, BEN):
        student_row = row_of(page, student)
        sync_api.expect(student_row).to_have_count(1, timeout=60_000)
        week.dialogs[f"autograde {student}"] = click_and_read_modal(
            page, student_row.locator("td.autograde a"), BUTTON_S
        )
        week.shown[student] = shown_score(student_row)
    graded = week.course / "grading" / "nbgrader" / "autograded" / BEN / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    if graded.is_file():
        week.ben_graded_probe = [
            line for cell in nbformat.read(graded, as_version=4).cells for output in cell.get("outputs", [])
            for line in str(output.get("text", "")).splitlines() if line.startswith(PROBE_MARK)
        ]  # fmt: skip
    grade_words(page, hub, week)
    formgrader(page, hub, f"manage_submissions/{ASSIGNMENT}")
    ada_row = row_of(page, ADA)
    week.shown[f"{ADA} after hand grading"] = shown_score(ada_row)
    shot = ARTIFACTS / "formgrader-after-grading.png"
    page.screenshot(path=shot, full_page=True)
    week.screenshots.append(shot)
    week.dialogs["generate feedback"] = click_and_read_modal(page, ada_row.locator("td.generate-feedback a"), BUTTON_S)
    week.dialogs["release feedback"] = click_and_read_modal(page, ada_row.locator("td.release-feedback a"), BUTTON_S)


def grade_words(page, hub, week):
    """Formgrader's Manual Grading of ada's notebook: full points for her answer in words."""
    formgrader(page, hub, f"gradebook/{ASSIGNMENT}/{ASSIGNMENT}")
    link = page.locator("#main-table tr", has_text=ADA).locator("a.name-shown")
    sync_api.expect(link).to_have_count(1, timeout=60_000)
    page.goto(f"{hub.url}{link.get_attribute('href')}" if link.get_attribute("href").startswith("/") else link.get_attribute("href"))
    score = page.locator(f"input.score#{ANSWER_IN_WORDS}")
    score.fill("1")
    score.blur()  # formgrader saves a score when its input loses the focus
    page.wait_for_timeout(2000)


def fetch_feedback(page, week):
    tab = open_assignments_tab(page)
    submitted = tab.locator("#submitted_assignments_list")
    button = submitted.locator("button", has_text="Fetch Feedback").first
    sync_api.expect(button).to_be_visible(timeout=60_000)
    button.click()
    page.wait_for_timeout(3000)
    folder = Path(pwd.getpwnam(ADA).pw_dir) / ASSIGNMENT / "feedback"
    pages = sorted(folder.glob(f"*/{ASSIGNMENT}.html"))
    if pages:
        week.fetched = ARTIFACTS / "ada-feedback.html"
        shutil.copyfile(pages[-1], week.fetched)
        relative = pages[-1].relative_to(Path(pwd.getpwnam(ADA).pw_dir))
        page.goto(page.url.split("/lab")[0] + f"/files/{relative}")
        week.fetched_text = page.inner_text("body")
        shot = ARTIFACTS / "ada-fetched-feedback.png"
        page.screenshot(path=shot, full_page=True)
        week.screenshots.append(shot)


# ---- the tests ------------------------------------------------------------------------------------


def test_formgrader_generates_and_releases(week):
    for step in ("generate", "release"):
        title, text = week.dialogs[step]
        assert title == "Success", f"formgrader's {step}: {title}\n{text[-3000:]}"


def test_the_instructors_server_lets_formgrader_into_jupyterlab_s_frame(week):
    assert "frame-ancestors 'self'" in week.csp, week.csp


def test_ada_validates_and_submits(week):
    # validate runs her notebook: it names the visible test her mistake fails
    assert "test_add_constant_feature" in week.validate_text or "failed" in week.validate_text.lower(), (
        week.validate_text
    )
    assert week.ada_submitted, "ada's submission is not in her cache"


def test_ben_reads_nothing_as_himself(week):
    assert len(week.ben_probe) == 8, week.ben_probe
    read = [line for line in week.ben_probe if not line.startswith(f"{PROBE_MARK} NOT READ")]
    assert not read, f"ben, in his own shell, read: {read}"


def test_collect_takes_ada_s_own_notebook_not_ben_s_forgery(week):
    assert week.ada_collected == week.ada_submitted, "the notebook collected for ada is not the one she submitted"


def test_collect_refuses_ben_s_plants_and_says_why(week):
    title, text = week.dialogs["collect"]
    assert title == "Success", f"formgrader's Collect: {title}\n{text[-3000:]}"
    for why in ("made by ben, not by ada", "it holds a link", "a link, not a folder"):
        assert why in text, f"formgrader's Collect does not say {why!r}:\n{text[-3000:]}"
    # his own submission through nbgrader submit: the notebook and the file beside it, no link
    assert week.ben_collected == {
        f"{ASSIGNMENT}.ipynb": "file", "sitecustomize.py": "file", "timestamp.txt": "file",
        "submission_secret.txt": "file",
    }, week.ben_collected  # fmt: skip


def test_autograde_runs_the_judged_path(week):
    for step in (f"autograde {ADA}", f"autograde {BEN}"):
        title, text = week.dialogs[step]
        assert title == "Success", f"formgrader's {step}: {title}\n{text[-3000:]}"


def test_ben_reads_nothing_when_graded(week):
    assert len(week.ben_graded_probe) == 8, week.ben_graded_probe
    read = [line for line in week.ben_graded_probe if not line.startswith(f"{PROBE_MARK} NOT READ")]
    assert not read, f"ben's notebook, graded, read: {read}"


def test_scores(week):
    ada, ben_ = week.shown[f"{ADA} after hand grading"], week.shown[BEN]
    before = week.shown[ADA]
    assert ben_ == (0, ben_[1]), f"ben earns {ben_}: his tricks earned points"
    assert ada and before and ada[0] == before[0] + 1, f"ada's hand-graded point: {before} -> {ada}"
    # one mistake, add_constant_feature's: its tests, and those of the functions that call it
    assert ada[1] - 12 <= ada[0] < ada[1], f"ada, one mistake: {ada}"


def test_feedback_is_generated_and_released(week):
    for step in ("generate feedback", "release feedback"):
        title, text = week.dialogs[step]
        assert title == "Success", f"formgrader's {step}: {title}\n{text[-3000:]}"


def test_ada_fetches_the_course_s_page_with_its_diagnosis(week):
    assert week.fetched, "ada fetched no feedback"
    text = html.unescape(week.fetched.read_text())
    assert f"Feedback on {ASSIGNMENT} for {ADA}" in text
    assert ONES_LAST_DIAGNOSIS in text, "the page does not diagnose her column of ones"
    assert ONES_LAST_DIAGNOSIS in week.fetched_text  # as her browser shows it
    leaked = sorted(line for line in hidden_lines() if line in text)
    assert not leaked, leaked


def test_the_students_servers_ran_the_edition_s_environment(week):
    # the instructors' tools were not there, and ada's server still fetched, validated and submitted
    assert {"pytest", "dask", "distributed", "playwright"} <= set(week.pruned), week.pruned
    assert not {"jupyterlab", "nbgrader", "numpy", "jupyterhub"} & set(week.pruned), week.pruned


def test_screenshots_are_written(week):
    assert len(week.screenshots) == 3 and all(shot.is_file() for shot in week.screenshots), week.screenshots


def test_every_process_ended(week):
    assert not week.leftover, week.leftover
