"""The course in a real browser: JupyterLab in headless Chromium, driven by Playwright.

- every solution notebook that displays a widget runs top to bottom (Run All) without an error
  (nbval and `check` run all of them; a browser adds nothing to one without a widget);
- every released notebook, run down to its first visible test, stops there with the stub's
  NotImplementedError, as a student first sees it;
- every widget the notebooks display renders live, and its controls change what it shows.

One JupyterLab server (on 127.0.0.1, serving a temporary copy of solutions/ and notebooks/) and one
browser page serve the whole module; each notebook's kernel is shut down when its test ends. On a
failure, a screenshot and the page's text go to browser-artifacts/ (or $NN273_BROWSER_ARTIFACTS),
named in the failure message. Without Chromium or Playwright the module skips and says how to
install them; $NN273_CHROMIUM names another Chromium binary.
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.course import COURSE, ROOT

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("NN273_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install it with `apt-get install chromium` "
        "(or set NN273_CHROMIUM to a Chromium binary)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="Playwright is not installed: `pip install playwright` (requirements.txt pins it)",
)

ASSIGNMENTS = COURSE.available()
# the course's widgets: every explorer module (nn273/explorers/, one per explorer)
WIDGET_MODULES = tuple(
    f"nn273.explorers.{path.stem}" for path in sorted((ROOT / "nn273" / "explorers").glob("*.py"))
    if path.stem not in ("__init__", "display")
)
ARTIFACTS = Path(os.environ.get("NN273_BROWSER_ARTIFACTS") or ROOT / "browser-artifacts")

SERVER_START_S = 120  # JupyterLab starts in 10-20 s idle, over 60 s on 2 loaded cores
KERNEL_START_S = 90
RUN_ALL_S = 420  # a solution notebook takes 20-120 s on 2 cores, up to 4 minutes when they are busy
RUN_TO_TEST_S = 120
WIDGET_S = 60

# JupyterLab settings for the test: every cell in the DOM (no windowing), no autosave into the
# copies, no news or update checks.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}

# The notebook being tested is window.nn273Panel (a NotebookPanel of JupyterLab's API).
OPEN = """async (path) => {
    const app = window.jupyterapp;
    const panel = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
    await panel.context.ready;
    await panel.sessionContext.ready;
    window.nn273Panel = panel;
    return panel.id;
}"""
KERNEL_IDLE = """() => {
    const kernel = window.nn273Panel.sessionContext.session?.kernel;
    return kernel?.connectionStatus === 'connected' && kernel?.status === 'idle';
}"""
# Starts a command on the notebook; window.nn273Done is set when it has finished.
START = """(command) => {
    window.nn273Done = null;
    window.jupyterapp.commands.execute(command).then(
        (ok) => { window.nn273Done = {ok}; },
        (error) => { window.nn273Done = {error: String(error)}; });
}"""
SELECT = "(index) => { window.nn273Panel.content.activeCellIndex = index; }"
CELLS = """() => window.nn273Panel.content.widgets.map((cell, index) => {
    const model = cell.model;
    const code = model.type === 'code';
    return {
        index,
        type: model.type,
        grade_id: (model.getMetadata('nbgrader') || {}).grade_id || null,
        count: code ? model.executionCount : null,
        prompt: code ? cell.node.querySelector('.jp-InputPrompt').innerText : '',
        errors: code ? model.outputs.toJSON().filter((o) => o.output_type === 'error')
                                             .map((o) => `${o.ename}: ${o.evalue}`) : [],
        shown: [...cell.node.querySelectorAll(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
            .map((node) => node.innerText),
    };
})"""
SCROLL_TO = "(index) => window.nn273Panel.content.widgets[index].node.scrollIntoView()"
CLOSE = """async () => {
    const panel = window.nn273Panel;
    window.nn273Panel = null;
    await panel.sessionContext.shutdown();
    panel.dispose();
}"""


# ---- the server and the browser ------------------------------------------------------------------


class Lab:
    """A JupyterLab server on 127.0.0.1 serving `root`, reachable at `url` with `token`; it runs in
    `cwd` (default: this process's), where nbgrader's server extensions read nbgrader_config.py."""

    def __init__(self, root, settings, workspaces, log, cwd=None):
        self.root = root
        self.token = secrets.token_hex(16)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run commands, read cells
            "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workspaces}",
        ]  # fmt: skip
        self.log = log
        self._log_file = log.open("w")
        self.process = subprocess.Popen(command, cwd=cwd, stdout=self._log_file, stderr=subprocess.STDOUT)

    def api(self, method, path):
        """Call the server's REST API; returns the decoded JSON answer (None when empty)."""
        request = urllib.request.Request(
            f"{self.url}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def wait_until_up(self):
        """Wait until the server answers /api/status; fail with its log if it does not."""
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"jupyter lab exited ({self.process.returncode}):\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                return self.api("GET", "status")
            time.sleep(0.5)
        pytest.fail(f"jupyter lab did not answer within {SERVER_START_S} s:\n{self.log_tail()}")

    def shutdown_kernels(self):
        """Shut down every kernel of the server."""
        for kernel in self.api("GET", "kernels"):
            self.api("DELETE", f"kernels/{kernel['id']}")

    def stop(self):
        """Shut the kernels and the server down."""
        with contextlib.suppress(OSError):
            self.shutdown_kernels()
        self.process.terminate()  # the server shuts down any kernel left on SIGTERM
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log_file.close()

    def log_tail(self, lines=30):
        return "\n".join(self.log.read_text().splitlines()[-lines:])


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server over a copy of solutions/ and notebooks/ (nn273 finds data/ itself)."""
    base = tmp_path_factory.mktemp("browser")
    root = base / "course"
    for folder in ("solutions", "notebooks"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns(".*"))
    settings = base / "settings"
    for plugin, values in LAB_SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    server = Lab(root, settings, base / "workspaces", log=base / "jupyter.log")
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def page(lab):
    """JupyterLab open in headless Chromium, which can reach 127.0.0.1 and nothing else."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(30_000)
            sync_api.expect.set_options(timeout=WIDGET_S * 1000)
            page.goto(f"{lab.url}/lab?reset&token={lab.token}")  # ?reset: no saved workspace
            page.wait_for_function("window.jupyterapp !== undefined", timeout=SERVER_START_S * 1000)
            page.evaluate("() => window.jupyterapp.restored.then(() => null)")
            yield page
        finally:
            browser.close()


def save_artifacts(page, name):
    """Save a screenshot and the text of `page` as ARTIFACTS/<name>.png and .txt; say where."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot, text = ARTIFACTS / f"{name}.png", ARTIFACTS / f"{name}.txt"
    try:
        page.screenshot(path=screenshot, full_page=True)
        text.write_text(page.inner_text("body"))
    except sync_api.Error as error:
        return f"(no screenshot of the page: {error})"
    return f"Screenshot and page text: {screenshot} and {text}"


@contextlib.contextmanager
def notebook(page, lab, path, name):
    """Open the notebook at `path` (relative to the server's root) and wait for its kernel.

    A failure inside saves the page as artifacts `name`; afterwards the notebook is closed and
    every kernel shut down, so the next test starts afresh.
    """
    failure = None
    try:
        page.evaluate(OPEN, path)
        page.wait_for_function(KERNEL_IDLE, timeout=KERNEL_START_S * 1000, polling=200)
        yield
    except Exception as error:
        failure = f"{path}: {error}\n\n{save_artifacts(page, name)}"
    finally:
        with contextlib.suppress(sync_api.Error):  # the page may be what failed
            page.evaluate(CLOSE)
        lab.shutdown_kernels()
    if failure:
        pytest.fail(failure, pytrace=False)


def run(page, command, timeout_s):
    """Run a JupyterLab command on the open notebook and wait until it has finished.

    If it has not finished within timeout_s, fail naming the cell still running.
    """
    page.evaluate(START, command)
    try:
        page.wait_for_function("window.nn273Done", timeout=timeout_s * 1000, polling=500)
    except sync_api.TimeoutError:
        cells = [cell for cell in page.evaluate(CELLS) if cell["type"] == "code"]
        ran = sum(cell["count"] is not None for cell in cells)
        running = next((cell for cell in cells if "*" in cell["prompt"]), None)
        if running:
            page.evaluate(SCROLL_TO, running["index"])
            where = (
                f"still running cell {running['index']} ({running['grade_id'] or 'no grade_id'})"
            )
        else:
            where = "no cell running"
        raise AssertionError(
            f"{command} did not finish within {timeout_s} s: {where}; "
            f"{ran} of {len(cells)} code cells have run"
        ) from None
    done = page.evaluate("window.nn273Done")
    assert "error" not in done, f"{command} failed: {done['error']}"


def describe(cell):
    """A failed cell for a message: index, grade_id, errors and the end of what the page shows."""
    label = cell["grade_id"] or "no grade_id"
    shown = "\n".join(cell["shown"])[-2000:]
    return f"cell {cell['index']} ({label}): {'; '.join(cell['errors'])}\n{shown}"


def failed(cell):
    """Whether a cell has an error output, or shows a traceback on the page."""
    return bool(cell["errors"]) or any("Traceback" in text for text in cell["shown"])


# ---- notebooks -----------------------------------------------------------------------------------


def _displays_a_widget(assignment):
    """Does the solution notebook show one of the course's widgets (from nn273's widget modules)?"""
    nb = nbformat.read(COURSE.solution_path(assignment), as_version=4)
    return any(m in c.source for c in nb.cells if c.cell_type == "code" for m in WIDGET_MODULES)


# Run All in the browser for the notebooks that display a widget; nbval (pytest solutions/) and
# `check` run every solution notebook, so a notebook without one adds nothing here but minutes.
@pytest.mark.parametrize("assignment", [a for a in ASSIGNMENTS if _displays_a_widget(a)])
def test_solution_notebook_runs_all_without_error(lab, page, assignment):
    path = f"solutions/{assignment}/{assignment}.ipynb"
    with notebook(page, lab, path, f"solution-{assignment}"):
        run(page, "notebook:run-all-cells", RUN_ALL_S)
        page.wait_for_function(KERNEL_IDLE, polling=200)
        cells = page.evaluate(CELLS)
        errors = [cell for cell in cells if failed(cell)]
        if errors:
            page.evaluate(SCROLL_TO, errors[0]["index"])
        assert not errors, "Run All fails in " + describe(errors[0])
        never_ran = [c["index"] for c in cells if c["type"] == "code" and c["count"] is None]
        assert not never_ran, f"cells {never_ran} have no execution count after Run All"


def first_visible_test(path):
    """Index of the first visible test cell of a notebook: graded, no solution, grade_id test_*."""
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if (
            cell.cell_type == "code"
            and meta.get("grade")
            and not meta.get("solution")
            and meta.get("grade_id", "").startswith("test_")
        ):
            return index
    raise AssertionError(f"{path} has no visible test cell (nbgrader grade_id test_...)")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_notebook_stops_at_first_test_with_stub_error(lab, page, assignment):
    path = f"notebooks/{assignment}/{assignment}.ipynb"
    target = first_visible_test(lab.root / path)
    with notebook(page, lab, path, f"released-{assignment}"):
        page.evaluate(SELECT, target)
        run(page, "notebook:run-all-above", RUN_TO_TEST_S)
        page.evaluate(SELECT, target)
        run(page, "notebook:run-cell", RUN_TO_TEST_S)
        cells = page.evaluate(CELLS)[: target + 1]
        errors = [cell for cell in cells if failed(cell)]
        page.evaluate(SCROLL_TO, errors[0]["index"] if errors else target)
        test_cell = f"the first visible test (cell {target}, {cells[target]['grade_id']})"
        assert errors, f"{test_cell} ran without error: the stub should raise NotImplementedError"
        first = errors[0]
        assert first["index"] >= target - 1, f"an error before {test_cell}, in " + describe(first)
        assert any(e.startswith("NotImplementedError") for e in first["errors"]), (
            f"{test_cell} should fail with the stub's NotImplementedError; got " + describe(first)
        )
        assert any("NotImplementedError" in text for text in first["shown"]), (
            "the page does not show the NotImplementedError of " + describe(first)
        )


# ---- widgets -------------------------------------------------------------------------------------


def check_playground(view):
    """The Playground: a picture and a status line; the step button, a new data set and train
    (its Play button) each change both."""
    image = view.locator("img")
    status = view.get_by_text(re.compile(r"^step \d+ \|"))
    sync_api.expect(image).to_have_attribute("src", re.compile("."))
    sync_api.expect(status).to_be_visible()

    def act(action):
        """Do `action`, wait until picture and status change; returns the step count shown."""
        src, text = image.get_attribute("src"), status.inner_text()
        action()
        sync_api.expect(status).not_to_have_text(text)
        sync_api.expect(image).not_to_have_attribute("src", src)
        return int(re.match(r"step (\d+)", status.inner_text())[1])

    assert act(view.get_by_role("button", name=re.compile("steps")).click) > 50
    assert act(lambda: view.get_by_label("data", exact=True).select_option("xor")) == 0
    play, stop = view.locator(".widget-play button").all()[:2]
    assert act(play.click) > 0
    stop.click()


def changes_both(image, status):
    """act(action, then): do `action` on an explorer's controls, then see its picture and its status
    line both change, the status line to one matching the regex `then`."""

    def act(action, then):
        src, text = image.get_attribute("src"), status.inner_text()
        action()
        sync_api.expect(status).not_to_have_text(text)
        sync_api.expect(image).not_to_have_attribute("src", src)
        sync_api.expect(status).to_have_text(re.compile(then))

    return act


def check_filter_explorer(view):
    """The FilterExplorer: a picture and a status line; a preset filter, a learned filter (with its
    bias), a typed weight and another digit each change both, and a typed weight makes the filter
    "typed"."""
    image = view.locator("img")
    status = view.get_by_text(re.compile(r"^digit \d \(image \d+\) \|"))
    sync_api.expect(image).to_have_attribute("src", re.compile("."))
    sync_api.expect(status).to_have_text(re.compile(r"\| filter vertical edge \|"))

    act = changes_both(image, status)

    act(lambda: view.get_by_label("filter", exact=True).select_option("blur"), r"\| filter blur \| bias 0\.000 \|")
    # a learned filter keeps its layer's bias (here -0.5): the map's background is the bias
    act(
        lambda: view.get_by_label("filter", exact=True).select_option("LeNet filter 3"),
        r"\| filter LeNet filter 3 \| bias -0\.500 \|",
    )
    weight = view.locator(".widget-text input").first  # the grid's top-left weight
    act(lambda: (weight.fill("1"), weight.press("Enter")), r"\| filter typed \|")
    act(lambda: view.get_by_label("digit", exact=True).select_option("3"), r"^digit 3 ")


def check_attention_explorer(view):
    """The AttentionExplorer: a picture and a status line; another query, another sentence, a typed
    feature of the query and a typed sentence each change both."""
    image = view.locator("img")
    status = view.get_by_text(re.compile(r"^query \w+ = \["))
    sync_api.expect(image).to_have_attribute("src", re.compile("."))
    sync_api.expect(status).to_have_text(re.compile(r"most weight: jumped "))

    act = changes_both(image, status)

    act(lambda: view.get_by_label("query", exact=True).select_option("subject"), r"most weight: fox ")
    act(
        lambda: view.get_by_label("sentence", exact=True).select_option("A small cat ran under the tree."),
        r"\| 7 words \| most weight: cat",
    )
    quality = view.get_by_label("quality", exact=True)
    act(lambda: (quality.fill("6"), quality.press("Enter")), r"^query typed = .* most weight: small")
    typed = view.get_by_label("type", exact=True)
    act(lambda: (typed.fill("The lazy dog slept."), typed.press("Enter")), r"\| 4 words \| most weight: lazy")


def check_optimizer_race(view):
    """The OptimizerRace: a picture and a status line; another surface, and Adam's own step size
    typed into its slider's readout, each change both."""
    image = view.locator("img")
    status = view.get_by_text(re.compile(r"^(quadratic|rosenbrock), \d+ steps, mean J of the last \d+: "))
    sync_api.expect(image).to_have_attribute("src", re.compile("."))
    sync_api.expect(status).to_have_text(re.compile(r"^quadratic, 100 steps, .* lowest: Adam"))

    act = changes_both(image, status)

    surface = view.get_by_label("surface", exact=True)
    act(lambda: surface.select_option("rosenbrock"), r"^rosenbrock, 100 steps, .* lowest: SGD")
    act(lambda: surface.select_option("quadratic"), r"lowest: Adam")
    readout = view.locator(".widget-readout").nth(2)  # Adam lr's (SGD lr, momentum lr, Adam lr, momentum, ...)
    act(lambda: (readout.click(), readout.fill("0.01"), readout.press("Enter")), r"lowest: momentum")


def check_dropout_batchnorm(view):
    """The DropoutBatchNorm explorer: a picture and a status line; a p and a batch size typed into
    their sliders' readouts each train again and change both."""
    image = view.locator("img")
    status = view.get_by_text(re.compile(r"^p [0-9.]+, batch size \d+: training loss "))
    sync_api.expect(image).to_have_attribute("src", re.compile("."))
    sync_api.expect(status).to_have_text(re.compile(r"^p 0.5, batch size 8: .* \| batch mean noise "))

    act = changes_both(image, status)

    p_readout, batch_readout = view.locator(".widget-readout").nth(0), view.locator(".widget-readout").nth(1)
    act(lambda: (p_readout.click(), p_readout.fill("0"), p_readout.press("Enter")), r"^p 0, batch size 8: ")
    act(lambda: (batch_readout.click(), batch_readout.fill("60"), batch_readout.press("Enter")),
        r"^p 0, batch size 60: .* batch mean noise 0.00$")


def check_depth_explorer(view):
    """The DepthExplorer: a picture and a status line; another initialization, the skips' checkbox
    and a depth typed into its slider's readout each change both."""
    image = view.locator("img")
    status = view.get_by_text(re.compile(r"^(plain|residual), depth \d+, (default|He) init: "))
    sync_api.expect(image).to_have_attribute("src", re.compile("."))
    sync_api.expect(status).to_have_text(re.compile(r"^plain, depth 10, default init: .* after 100 steps$"))

    act = changes_both(image, status)

    act(lambda: view.get_by_label("init", exact=True).select_option("He"), r"^plain, depth 10, He init: ")
    act(lambda: view.locator("input[type=checkbox]").check(), r"^residual, depth 10, He init: ")
    readout = view.locator(".widget-readout").first  # the depth slider's
    act(lambda: (readout.click(), readout.fill("30"), readout.press("Enter")), r"^residual, depth 30, He init: ")


# Each widget class the notebooks display: the code that shows it in a scratch notebook, and the
# check of its live view (a Playwright locator of the displayed widget).
WIDGETS = {
    "Playground": ("from nn273.explorers.playground import Playground\nPlayground(steps=50)", check_playground),
    "FilterExplorer": (
        "import torch\nfrom nn273.explorers.filters import FilterExplorer\n"
        "layer = torch.nn.Conv2d(1, 16, (5, 5), stride=2)\n"
        "with torch.no_grad():\n    layer.bias.fill_(-0.5)\n"
        "FilterExplorer(digit=7, learned=layer)",
        check_filter_explorer,
    ),
    "AttentionExplorer": (
        "from nn273.explorers.attention import AttentionExplorer\nAttentionExplorer()",
        check_attention_explorer,
    ),
    "OptimizerRace": ("from nn273.explorers.optimizer_race import OptimizerRace\nOptimizerRace()", check_optimizer_race),
    "DropoutBatchNorm": (
        "from nn273.explorers.dropout_batchnorm import DropoutBatchNorm\nDropoutBatchNorm()",
        check_dropout_batchnorm,
    ),
    "DepthExplorer": ("from nn273.explorers.depth import DepthExplorer\nDepthExplorer()", check_depth_explorer),
}


def test_every_widget_the_notebooks_display_has_a_browser_check():
    import importlib

    import ipywidgets

    widget_classes = set()
    for module in map(importlib.import_module, WIDGET_MODULES):  # torch: only when this test runs
        widget_classes |= {
            name
            for name in module.__all__
            if isinstance(getattr(module, name), type) and issubclass(getattr(module, name), ipywidgets.DOMWidget)
        }
    imported = set()
    pattern = r"from (?:%s) import ([\w, ]+)" % "|".join(re.escape(m) for m in WIDGET_MODULES)
    for assignment in ASSIGNMENTS:
        for cell in nbformat.read(COURSE.solution_path(assignment), as_version=4).cells:
            if cell.cell_type == "code":
                for names in re.findall(pattern, cell.source):
                    imported |= {name.strip() for name in names.split(",")}
    missing = sorted((imported & widget_classes) - WIDGETS.keys())
    assert not missing, f"add a check of {missing} to WIDGETS in {__file__}"


@pytest.mark.parametrize("name", WIDGETS)
def test_widget_renders_live_and_its_controls_act(lab, page, name):
    source, check = WIDGETS[name]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = f"widget-{name}.ipynb"
    nbformat.write(nb, lab.root / path)
    with notebook(page, lab, path, f"widget-{name}"):
        run(page, "notebook:run-all-cells", WIDGET_S)
        cells = page.evaluate(CELLS)
        assert not failed(cells[0]), f"showing the {name} fails: " + describe(cells[0])
        panel_id = page.evaluate("window.nn273Panel.id")
        view = page.locator(f"#{panel_id} .jp-OutputArea-output .jupyter-widgets").first
        sync_api.expect(view).to_be_visible(timeout=WIDGET_S * 1000)
        check(view)
