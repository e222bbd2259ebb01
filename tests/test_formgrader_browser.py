"""One grading path, shown in a real browser: nbgrader's formgrader in JupyterLab, in headless Chromium.

One scenario for the module, on tests/one_path.py's batch of 01_linear submissions (honest, a cheat
that answers every function with `return 0` and patches numpy in its first answer cell, a probe that
tries to read the course's answers, a half-done one, a broken one), and one more honest student who
goes through the exchange:

1. `python -m autograder grade` grades the batch with seed 7: the reference scores and the workdir,
   whose nbgrader_config.py formgrader reads.
2. The honest student goes through a local exchange, as on a hub: the instructor releases the
   assignment; the student (a home of their own) fetches it, answers, submits; the instructor collects
   (nbgrader's own commands, in the workdir).
3. JupyterLab runs in the workdir. Nbgrader > Formgrader > 01_linear's submissions: the Autograde
   button for each student (the broken notebook is not listed: grade left it out of submitted/),
   then Generate Feedback and Release Feedback for the one who came through the exchange.
4. The student fetches the feedback with `nbgrader fetch_feedback` and opens it in the browser.

The tests then say what each path gave: formgrader's scores against grade's, the feedback in the
exchange, and the page the student got (the course's page, without a line of the hidden tests).
Screenshots go to $NN273_SCREENSHOTS (else a temporary folder); their paths are printed.
"""

import contextlib
import html
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from one_path import BATCH, PROBE_MARK, honest, write_batch
from nbgrader.utils import get_username, notebook_hash
from test_browser import (  # skips without Chromium
    CHROMIUM,
    LAB_SETTINGS,
    SERVER_START_S,
    Lab,
    sync_api,
)

from autograder.course import COURSE, ROOT

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_linear"
SEED = 7
HONEST = get_username()  # nbgrader's student id of whoever runs the exchange's commands
CHEAT = "cheat"
STUDENTS = [*BATCH, HONEST]  # each gets the Autograde button
GRADE_S = 300
COMMAND_S = 120
BUTTON_S = 240  # one Autograde click: a notebook graded, up to a minute on 2 busy cores
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


# ---- the batch -----------------------------------------------------------------------------------


def hidden_test_lines():
    """Every line of the solution's hidden tests, markers included (stripped, non-empty)."""
    lines = set()
    for cell in nbformat.read(COURSE.solution_path(ASSIGNMENT), as_version=4).cells:
        for block in cell.source.split(HIDDEN_BEGIN)[1:]:
            hidden = block.split(HIDDEN_END)[0]
            lines |= {line.strip() for line in hidden.splitlines() if line.strip()}
    return lines | {HIDDEN_BEGIN, HIDDEN_END}


def run(command, cwd, env=None, timeout=COMMAND_S):
    """Run `command` (a list) in `cwd`; fail with its output unless it succeeds. Returns its output."""
    done = subprocess.run(
        command, cwd=cwd, env=env, timeout=timeout, capture_output=True, text=True, check=False
    )
    output = done.stdout + done.stderr
    if done.returncode:
        pytest.fail(
            f"{' '.join(map(str, command))} (in {cwd}) exited {done.returncode}:\n{output[-3000:]}"
        )
    return output


def nbgrader(*args, cwd, env=None):
    return run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env)


# ---- the browser ---------------------------------------------------------------------------------


def row_of(frame, student):
    """The row of `student` in formgrader's Manage Submissions table."""
    student_id = frame.locator(
        "td.student-id", has_text=re.compile(rf"^\s*{re.escape(student)}\s*$")
    )
    return frame.locator("#main-table tr").filter(has=student_id)


def click_and_read_modal(frame, link, timeout_s):
    """Click `link`, wait for formgrader's answer (a success or an error dialog), close it; returns
    (title, text) of the dialog."""
    link.click()
    modal = frame.locator("#success-modal, #error-modal")
    sync_api.expect(modal).to_be_visible(timeout=timeout_s * 1000)
    title = modal.locator(".modal-title").inner_text().strip()
    text = modal.locator(".modal-body").inner_text()
    modal.locator(".modal-footer button").click()
    sync_api.expect(modal).to_have_count(0)
    return title, text


def shown_score(row):
    """(score, max_score) in the row's Score column, once the row shows its status again."""
    sync_api.expect(row.locator("td.status")).not_to_be_empty(timeout=30_000)
    match = re.fullmatch(r"\s*([\d.]+)\s*/\s*([\d.]+)\s*", row.locator("td.score").inner_text())
    return (float(match[1]), float(match[2])) if match else None


@dataclass(repr=False)  # a failing test names what it needs; the whole record only buries it
class Scenario:
    grades: dict  # grades.json of `grade`
    workdir: Path
    exchange: Path
    shown: dict = field(default_factory=dict)  # student -> (score, max_score) that formgrader shows
    autograde: dict = field(default_factory=dict)  # student -> (dialog title, text) of Autograde
    generate: tuple = None  # (dialog title, text) of Generate Feedback for the honest student
    release: tuple = None  # ... of Release Feedback
    fetched: Path = None  # the page `nbgrader fetch_feedback` gave the student
    fetched_text: str = ""  # that page as the browser shows it
    screenshots: list = field(default_factory=list)
    listed_broken: int = None  # rows of the broken notebook's student in formgrader


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, pytestconfig):
    base = tmp_path_factory.mktemp("formgrader")
    shots = Path(os.environ.get("NN273_SCREENSHOTS") or base / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    submissions, workdir, exchange = base / "submissions", base / "grading", base / "exchange"
    write_batch(submissions)
    (submissions / HONEST / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(honest(), submissions / HONEST / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")

    with pytest.MonkeyPatch.context() as mp:
        # grade, nbgrader's commands and the server: an exchange of the test's own
        mp.setenv("NN273_EXCHANGE", str(exchange))
        run(
            [sys.executable, "-m", "autograder", "grade", submissions, "--workdir", workdir,
             "--json", base / "grades.json", "--seed", str(SEED), "--jobs", "1"],
            cwd=ROOT, timeout=GRADE_S,
        )  # fmt: skip
        result = Scenario(json.loads((base / "grades.json").read_text()), workdir, exchange)

        # The honest student, through the exchange: a home and a folder of their own.
        home, folder = base / "student-home", base / "student"
        folder.mkdir()
        (folder / "nbgrader_config.py").write_text(
            "c = get_config()  # noqa: F821\n"
            "c.CourseDirectory.course_id = 'nn273'\n"
            f"c.Exchange.root = {str(exchange)!r}\n"
        )
        student_env = {
            **os.environ, "HOME": str(home), "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
        }  # fmt: skip
        nbgrader("release_assignment", ASSIGNMENT, cwd=workdir)
        nbgrader("fetch_assignment", ASSIGNMENT, cwd=folder, env=student_env)
        nbformat.write(honest(), folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        nbgrader("submit", ASSIGNMENT, cwd=folder, env=student_env)
        nbgrader("collect", "--update", ASSIGNMENT, cwd=workdir)

        settings = base / "lab-settings"
        for plugin, values in LAB_SETTINGS.items():
            path = settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        lab = Lab(workdir, settings, base / "workspaces", log=base / "jupyter.log", cwd=workdir)
        try:
            lab.wait_until_up()
            with sync_api.sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM,
                    args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
                )
                try:
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    page.set_default_timeout(30_000)
                    try:
                        in_formgrader(page, lab, result, shots)
                        nbgrader("fetch_feedback", ASSIGNMENT, cwd=folder, env=student_env)
                        pages = sorted(
                            (folder / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html")
                        )
                        if pages:
                            result.fetched = pages[-1]
                            page.goto(result.fetched.as_uri())
                            result.fetched_text = page.inner_text("body")
                            shot = shots / "fetched-feedback.png"
                            page.screenshot(path=shot, full_page=True)
                            result.screenshots.append(shot)
                    except Exception:
                        with contextlib.suppress(sync_api.Error):
                            page.screenshot(path=shots / "failure.png", full_page=True)
                        print(f"the page at the failure: {shots / 'failure.png'}")
                        raise
                finally:
                    browser.close()
        finally:
            lab.stop()
    with pytestconfig.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        print("".join(f"\nscreenshot: {shot}" for shot in result.screenshots))
    yield result


def in_formgrader(page, lab, result, shots):
    """Nbgrader > Formgrader > 01_linear's submissions: Autograde both students, then Generate and
    Release Feedback for the honest one. Records what formgrader shows in `result`."""
    page.goto(f"{lab.url}/lab?reset&token={lab.token}")  # ?reset: no saved workspace
    page.wait_for_function("window.jupyterapp !== undefined", timeout=SERVER_START_S * 1000)
    page.evaluate("() => window.jupyterapp.restored.then(() => null)")
    page.locator(".lm-MenuBar-item", has_text="Nbgrader").click()
    page.locator(".lm-Menu-item[data-command='nbgrader:open-formgrader']").click()
    frame = page.frame_locator("iframe[src*='formgrader']")

    assignment = frame.locator("#main-table tr").filter(
        has=frame.locator("td.name", has_text=re.compile(rf"^\s*{ASSIGNMENT}\s*$"))
    )
    assignment.locator("td.num-submissions a").click()  # Manage Submissions of 01_linear
    result.listed_broken = row_of(frame, "broken").count()
    for student in STUDENTS:
        row = row_of(frame, student)
        sync_api.expect(row).to_have_count(1)
        result.autograde[student] = click_and_read_modal(
            frame, row.locator("td.autograde a"), BUTTON_S
        )
        result.shown[student] = shown_score(row)
    shot = shots / "formgrader-after-autograde.png"
    page.locator("iframe[src*='formgrader']").screenshot(path=shot)
    result.screenshots.append(shot)

    row = row_of(frame, HONEST)
    result.generate = click_and_read_modal(frame, row.locator("td.generate-feedback a"), BUTTON_S)
    result.release = click_and_read_modal(frame, row.locator("td.release-feedback a"), BUTTON_S)


# ---- the tests -----------------------------------------------------------------------------------


def expected_in_formgrader(grade):
    """What formgrader should show for a grade of grades.json: its score plus the points entered by
    hand (none here), out of its maximum plus the points graded by hand."""
    manual = grade.get("manual", {}).values()
    return (
        grade["score"] + sum(m["score"] or 0 for m in manual),
        grade["max_score"] + sum(m["max_score"] for m in manual),
    )


@pytest.mark.parametrize("student", STUDENTS)
def test_autograde_button_reports_success(scenario, student):
    title, text = scenario.autograde[student]
    assert title == "Success", f"formgrader's Autograde of {student}: {title}\n{text[-3000:]}"


@pytest.mark.parametrize("student", STUDENTS)
def test_autograde_button_gives_grades_scores(scenario, student):
    reference = scenario.grades[student][ASSIGNMENT]
    expected = expected_in_formgrader(reference)
    assert scenario.shown[student] == expected, (
        f"formgrader shows {student} at {scenario.shown[student]} after its Autograde button; "
        f"`grade --seed {SEED}` gave {reference['score']:g}/{reference['max_score']:g} "
        f"(formgrader should show {expected[0]:g} / {expected[1]:g})"
    )


def test_cheat_scores_below_honest_in_formgrader(scenario):
    cheat, honest = scenario.shown[CHEAT], scenario.shown[HONEST]
    assert cheat is not None and honest is not None, f"formgrader shows no score: {scenario.shown}"
    assert cheat[0] < honest[0], (
        f"formgrader gives the np.allclose cheat {cheat[0]:g} and the honest student {honest[0]:g}"
    )


def test_the_broken_notebook_is_not_graded_as_a_zero(scenario):
    assert scenario.grades["broken"][ASSIGNMENT]["score"] is None
    assert scenario.listed_broken == 0  # grade left it out of submitted/: formgrader never shows a 0 for it


def test_the_probe_read_nothing_through_the_button(scenario):
    autograded = scenario.workdir / "autograded" / "probe" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(autograded, as_version=4)
    lines = [line for c in nb.cells for o in c.get("outputs", []) for line in o.get("text", "").splitlines()
             if line.startswith(PROBE_MARK)]
    assert sum(line.startswith(f"{PROBE_MARK} NOT READ") for line in lines) == 2, lines


def test_feedback_is_generated_and_released(scenario):
    for step, (title, text) in (
        ("Generate Feedback", scenario.generate),
        ("Release Feedback", scenario.release),
    ):
        assert title == "Success", f"formgrader's {step} for {HONEST}: {title}\n{text[-3000:]}"
    secret = (
        scenario.workdir / "submitted" / HONEST / ASSIGNMENT / "submission_secret.txt"
    ).read_text()
    released = (
        scenario.exchange
        / "nn273"
        / "feedback"
        / f"{notebook_hash(secret=secret, notebook_id=ASSIGNMENT)}.html"
    )
    assert released.is_file(), (
        f"no released feedback at {released}; the exchange's feedback folder holds "
        f"{sorted(p.name for p in released.parent.glob('*'))}"
    )


def test_student_fetches_the_course_feedback_page(scenario):
    assert scenario.fetched, f"`nbgrader fetch_feedback {ASSIGNMENT}` gave the student no page"
    heading = f"Feedback on {ASSIGNMENT} for {HONEST}"
    found = heading in html.unescape(scenario.fetched.read_text())
    assert found, (
        f"{scenario.fetched} is not the course's feedback page (no {heading!r}): nbgrader's own page?"
    )


def test_fetched_feedback_holds_no_hidden_test_line(scenario):
    assert scenario.fetched, f"`nbgrader fetch_feedback {ASSIGNMENT}` gave the student no page"
    raw = html.unescape(re.sub(r"<[^>]+>", "", scenario.fetched.read_text()))
    shown = [line.strip() for line in scenario.fetched_text.splitlines()]
    leaked = sorted(line for line in hidden_test_lines() if line in raw or line in shown)
    assert not leaked, (
        f"the feedback the student fetched ({scenario.fetched}) shows hidden tests: {leaked}"
    )


def test_screenshots_are_saved(scenario):
    missing = [shot for shot in scenario.screenshots if not shot.is_file()]
    assert len(scenario.screenshots) == 2 and not missing, f"screenshots: {scenario.screenshots}"
