"""What a submission's outputs and metadata can do to the grader and to an instructor's browser.

- Outputs are capped per cell by whole messages: a small image with 50 MB of metadata, displayed 30
  times, neither bloats the autograded notebook nor the grading process (autograder/judging/execute.py).
- Outputs and the student's markdown and raw cells are inert in the autograded notebook: rendered as
  formgrader renders it (nbgrader's formgrade template, `HTMLExporter(sanitize_html=False)`) and
  loaded in headless Chromium, no script a submission planted runs; the same submission's own
  outputs, rendered the same way, do run them, which proves the check can fail (autograder/judging/inert.py).
- A stub whose locked test cell's nbgrader metadata was edited is graded, that cell at 0, with a
  note, never left ungraded (autograder/judging/metadata.py).
- Harness.as_float fails clearly on what does not convert (autograder/hidden/harness.py).

The course is tests/toycourse.py's; one grading run (after a first one that releases the stub) grades
every submission of the module.
"""

import base64
import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell

from autograder.hidden.harness import Harness, HiddenTestFailure
from toycourse import TOY, make_toy_course, submit, toy_notebook, with_cells

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc000000301010018dd8db40000000049454e44ae426082"
)).decode()

# Each planted script sets window.<marker>; a page that ran none of them has no such name.
ATTACK_CODE = textwrap.dedent(f"""\
    from IPython.display import display, HTML, SVG, Javascript, Markdown, Latex
    display(HTML("<script>window.pwned_html = 1; document.title = 'pwned'</script>"))
    display(HTML('<img src="nowhere.png" onerror="window.pwned_img = 1">'))
    display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>window.pwned_svg = 1</script></svg>'))
    display(Javascript("window.pwned_js = 1"))
    display(Markdown('<img src="nowhere.png" onerror="window.pwned_md_output = 1">'))
    display({{"image/png": "{PNG}", "text/plain": "dot"}}, raw=True,
            metadata={{"image/png": {{"width": "1 onload=window.pwned_width=1"}}}})
    display({{"image/png": '" onerror="window.pwned_png=1', "text/plain": "not an image"}}, raw=True)
    display({{"text/html": "<b onmouseover=x>bold</b>", "text/plain": "plain kept"}}, raw=True)
    print("<script>window.pwned_stream = 1</script>")
    """)
ERROR_CODE = "raise ValueError('<img src=nowhere.png onerror=\"window.pwned_error = 1\">')\n"
MARKDOWN = (
    "My answer: x < y & <script>window.pwned_markdown = 1</script>\n\n"
    '<img src="nowhere.png" onerror="window.pwned_markdown_img = 1">\n\n'
    "[a link](javascript:window.pwned_link=1) and <a href=\"javascript:window.pwned_a=1\">another</a>\n"
)
RAW = '<img src="nowhere.png" onerror="window.pwned_raw = 1">'

# (name, edit of the test cell test_double's metadata, or of the cell) a student could make
TAMPER = {
    "points": lambda c: c.metadata.nbgrader.update(points=100),
    "grade_removed": lambda c: c.metadata.nbgrader.pop("grade"),
    "renamed": lambda c: c.metadata.nbgrader.update(grade_id="mine"),
    "duplicated": lambda c: c.metadata.nbgrader.update(grade_id="hidden_double"),
    "schema": lambda c: c.metadata.nbgrader.update(schema_version=99),
    "extra_key": lambda c: c.metadata.nbgrader.update(evil=1),
    "unlocked": lambda c: c.metadata.nbgrader.update(locked=False, solution=True),
    "to_markdown": lambda c: (c.update(cell_type="markdown"), c.pop("outputs"), c.pop("execution_count")),
    "checksum": lambda c: c.metadata.nbgrader.update(checksum="0" * 32),
    "not_a_dict": lambda c: c.metadata.update(nbgrader=[1]),
}


def _answered(stub):
    """The released stub with the toy solution's answers typed in, as an honest student would."""
    answers = {
        c.metadata.nbgrader["grade_id"]: c.source
        for c in toy_notebook(questions=True).cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    return with_cells(stub, **answers)


def _cell(nb, gid):
    return next(c for c in nb.cells if isinstance(c.metadata.get("nbgrader"), dict) and c.metadata.nbgrader.get("grade_id") == gid)


def _attack(stub):
    nb = _answered(stub)
    at = nb.cells.index(_cell(nb, "square")) + 1
    nb.cells[at:at] = [new_code_cell(ATTACK_CODE), new_code_cell(ERROR_CODE),
                       new_markdown_cell('<img src="nowhere.png" onerror="window.pwned_own_markdown = 1">'),
                       new_raw_cell(RAW, metadata={"raw_mimetype": "text/html"})]
    _cell(nb, "question_why").source = MARKDOWN
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.grade import grade_submissions

    root = tmp_path_factory.mktemp("inert")
    course = make_toy_course(root, questions=True)
    first = root / "first"
    submit(first, "honest", toy_notebook(questions=True))
    grade_submissions(first, course, workdir=root / "w0", timeout=20, jobs=1)
    stub = nbformat.read(root / "w0" / "release" / TOY / f"{TOY}.ipynb", as_version=4)
    subs = root / "subs"
    submit(subs, "honest", _answered(stub))
    submit(subs, "attacker", _attack(stub))
    for name, edit in TAMPER.items():
        nb = _answered(stub)
        edit(_cell(nb, "test_double"))
        submit(subs, f"tamper_{name}", nb)
    nb = _answered(stub)
    for cell in nb.cells:  # as a notebook written from the instructor's source, or by an old nbgrader
        if isinstance(cell.metadata.get("nbgrader"), dict):
            cell.metadata.nbgrader.pop("checksum", None)
            cell.metadata.nbgrader.pop("cell_type", None)
    submit(subs, "no_checksums", nb)
    work = root / "w1"
    report = grade_submissions(subs, course, workdir=work, timeout=30, jobs=1, feedback=True)
    return report, work, subs


# ------------------------------------------------------------------------------------ tampered metadata
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TAMPER))
def test_tampered_test_cell_metadata_is_graded_with_that_cell_at_zero(graded, name):
    report, _, _ = graded
    honest, grade = report["honest"][TOY], report[f"tamper_{name}"][TOY]
    assert honest.score == honest.max_score and not honest.error
    assert grade.score is not None, f"{name}: left ungraded: {grade.error}"
    assert grade.cells["test_double"]["score"] == 0.0, grade.cells
    others = {gid: c["score"] for gid, c in grade.cells.items() if gid != "test_double"}
    assert others == {gid: c["max_score"] for gid, c in grade.cells.items() if gid != "test_double"}
    assert "test_double" in (grade.error or "") and "scores 0" in grade.error, grade.error


@pytest.mark.slow
def test_metadata_without_the_keys_nbgrader_fills_in_is_not_tampering(graded):
    report, _, _ = graded
    grade = report["no_checksums"][TOY]
    assert grade.score == grade.max_score and not grade.error, grade


# ------------------------------------------------------------------------------------------- browser
def _formgrader_html(nb, path):
    """`nb` as nbgrader's formgrader shows a submission (SubmissionHandler: its exporter and template)."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    exporter = HTMLExporter(config=config)
    assert exporter.sanitize_html is False
    resources = {"assignment_id": TOY, "notebook_id": TOY, "submission_id": "x", "index": 0, "total": 1,
                 "base_url": "", "student": "attacker", "last_name": "", "first_name": "", "notebook_path": "x"}
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    path.write_text(html)
    return path


def _markers(pages):
    """{page: (the window.pwned_* names set, document.title)} once each page loaded and its
    javascript: links were clicked."""
    sync_api = pytest.importorskip("playwright.sync_api")
    found = {}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for page_path in pages:
                page = browser.new_page()
                page.route("http*://**", lambda route: route.abort())  # no network: CDN scripts fail fast
                # formgrader's page loads jQuery from its server, which is not here: a stub, so that
                # a JavaScript output (it starts with `$(...)`) runs as it would in formgrader
                page.add_init_script("window.$ = window.jQuery = function () { return {}; };")
                page.goto(Path(page_path).as_uri(), wait_until="load")
                page.wait_for_timeout(1000)
                title = page.title()
                # a javascript: link runs when clicked; any other link would leave the page
                page.evaluate(
                    "() => { for (const a of document.querySelectorAll('a[href]')) {"
                    " if (a.href.trim().toLowerCase().startsWith('javascript:')) a.click(); } }"
                )
                page.wait_for_timeout(500)
                names = page.evaluate("() => Object.keys(window).filter(k => k.startsWith('pwned'))")
                found[page_path] = (set(names), title)
                page.close()
        finally:
            browser.close()
    return found


@pytest.mark.slow
@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
def test_nothing_a_submission_planted_runs_in_formgrader_or_feedback(graded, tmp_path):
    report, work, subs = graded
    assert report["attacker"][TOY].score is not None, report["attacker"][TOY].error
    autograded = nbformat.read(work / "autograded" / "attacker" / TOY / f"{TOY}.ipynb", as_version=4)
    # the same submission run as nbgrader alone would keep it: outputs as the kernel made them
    from nbclient import NotebookClient

    raw = nbformat.read(subs / "attacker" / TOY / f"{TOY}.ipynb", as_version=4)
    NotebookClient(raw, kernel_name="python3", allow_errors=True, timeout=60).execute()
    raw_page = _formgrader_html(raw, tmp_path / "raw.html")
    graded_page = _formgrader_html(autograded, tmp_path / "autograded.html")
    feedback_page = work / "feedback" / "attacker" / TOY / f"{TOY}.html"
    found = _markers([raw_page, graded_page, feedback_page])

    ran, title = found[raw_page]
    planted = {"pwned_html", "pwned_img", "pwned_js", "pwned_md_output", "pwned_width", "pwned_markdown",
               "pwned_markdown_img", "pwned_own_markdown", "pwned_link", "pwned_a"}
    assert planted <= ran, f"the check cannot fail: in the raw rendering only {sorted(ran)} ran"
    assert title == "pwned"
    for page in (graded_page, feedback_page):
        ran, title = found[page]
        assert not ran and title != "pwned", f"{page.name}: {sorted(ran)} ran, title {title!r}"
    # what a hand grader reads is still there, as text
    text = graded_page.read_text()
    assert "plain kept" in text and "not shown: text/html" in text
    assert "My answer: x &amp;lt; y" in text or "My answer: x &lt; y" in text
    assert "ValueError" in text and "pwned_error" in text  # the error's message, escaped


# ------------------------------------------------------------------------------------------ output cap
FLOOD = textwrap.dedent(f"""\
    from IPython.display import display
    junk = {{"junk": "x" * 50_000_000}}
    for _ in range(30):
        display({{"image/png": "{PNG}", "text/plain": "dot"}}, raw=True, metadata={{"image/png": junk}})
    """)

GRADE_AND_MEASURE = textwrap.dedent("""\
    import resource, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from autograder.grade import grade_submissions
    from toycourse import TOY, make_toy_course
    root = Path(sys.argv[1])
    course = make_toy_course(root / "course")
    report = grade_submissions(root / "subs", course, workdir=root / "work", timeout=120, memory_mb=3072, jobs=1)
    grade = report["flood"][TOY]
    print("SCORE", grade.score, "ERROR", grade.error)
    print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """)


@pytest.mark.slow
def test_a_display_with_huge_metadata_is_capped_by_whole_messages(tmp_path):
    nb = toy_notebook()
    at = nb.cells.index(_cell(nb, "double")) + 1
    nb.cells.insert(at, new_code_cell(FLOOD))
    submit(tmp_path / "subs", "flood", nb)
    limit = 3 << 30  # the grading process's address space: far less than 30 x 50 MB kept

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    run = subprocess.run(
        [sys.executable, "-c", GRADE_AND_MEASURE, str(tmp_path), str(Path(__file__).parent)],
        capture_output=True, text=True, timeout=900, preexec_fn=cap,
    )
    out = run.stdout + run.stderr[-3000:]
    assert run.returncode == 0, out
    assert "SCORE 6.0" in run.stdout, out
    maxrss = int(run.stdout.split("MAXRSS_KB")[1].split()[0]) * 1024
    autograded = tmp_path / "work" / "autograded" / "flood" / TOY / f"{TOY}.ipynb"
    size = autograded.stat().st_size
    print(f"grading process max RSS {maxrss / 2**20:.0f} MiB; autograded notebook {size / 2**10:.0f} KiB")
    assert size < 5 << 20
    assert maxrss < 1 << 30, f"the grading process reached {maxrss / 2**20:.0f} MiB"
    flood = nbformat.read(autograded, as_version=4).cells[at]
    assert any("output cut" in o.get("text", "") for o in flood.outputs)


# ---------------------------------------------------------------------------------------- unit checks
def test_json_size_counts_metadata_and_stops_at_its_limit():
    from autograder.judging.execute import json_size

    content = {"data": {"text/plain": "x"}, "metadata": {"junk": "y" * 10_000}, "transient": {}}
    assert json_size(content, 10**9) > 10_000
    assert 100 < json_size(content, 100) <= 10_000 + 100
    deep = []
    for _ in range(100_000):  # nesting that a recursive count would die of
        deep = [deep]
    assert json_size(deep, 10**9) >= 100_000
    assert json_size(10**400, 10**9) > 100


def test_an_output_keeps_only_text_and_real_images():
    from autograder.judging.inert import inert_output

    out = inert_output({
        "output_type": "display_data",
        "data": {"text/html": "<script>", "image/png": PNG, "image/jpeg": '" onerror="x', "text/plain": "t",
                 "application/vnd.jupyter.widget-view+json": {"model_id": "m"}},
        "metadata": {"image/png": {"width": "1 onload=x", "height": 10, "other": "y"}, "big": "z"},
    })
    assert out[0]["data"] == {"image/png": PNG, "text/plain": "t"}
    assert out[0]["metadata"] == {"image/png": {"height": 10}}
    assert "text/html" in out[1]["text"] and "image/jpeg (not valid)" in out[1]["text"]
    again = [o for output in out for o in inert_output(output)]
    assert again == out  # idempotent: a parallel run's recorder passes it again
    assert inert_output({"output_type": "stream", "name": '"><script>', "text": "<b>"})[0]["name"] == "stdout"


def test_student_markdown_shows_as_text():
    from autograder.judging.inert import inert_markdown

    assert inert_markdown("a < b & <script>") == "a &lt; b &amp; &lt;script>"
    assert inert_markdown("[x](JavaScript:go) [y](jav\tascript :go)") == "[x](JavaScript\u200b:go) [y](jav\tascript \u200b:go)"
    assert inert_markdown("[x](jav&#97;script:go)") == "[x](jav&amp;#97;script:go)"


@pytest.mark.parametrize("value", [10**400, [1.0, 10**400], [[1], [1, 2]], "abc", {"a": 1}])
def test_as_float_fails_clearly_on_what_does_not_convert(value):
    with pytest.raises(HiddenTestFailure, match=r"the result must be numbers.*received \w+ \(\w+: "):
        Harness().as_float(value, "the result")
