"""The README and docs/: every command they show parses, and every link they make resolves.

Nothing runs. The commands of each ```sh, ```bash or ```console block are read as a shell reads
them (continued lines, comments, `&&`, `( )`, `VAR=value` prefixes); then
- `python -m autograder ...`, `python -m autograder.replay ...` and `python benchmarks/....py ...`
  go through their own argparse parser, stopped as soon as it has parsed;
- `nbgrader SUBCOMMAND ...` must name one of nbgrader's subcommands, and each option must be one of
  that subcommand's aliases or flags, or `--Class.trait=value` of a class it configures;
- an assignment id (`01_linear`) must be one of the course's.

The end-to-end tests run these commands for real:
- `grade`: tests/test_assignments.py::test_grading_a_class_end_to_end (the command line), and
  tests/test_progress.py::test_grade_counts_the_notebooks_then_prints_the_table_and_the_summary;
  resuming, `--seed` and `--force`: tests/test_resume.py; `--scheduler`: tests/test_cluster.py;
  `--feedback`: tests/test_pipeline.py::test_feedback_is_written_per_student
- `collect`: tests/test_collect.py::test_a_folder_with_mtimes_a_pattern_and_a_given_assignment
  (the command line, with --pattern and --assignment) and the zip tests beside it
- `check`: tests/test_progress.py::test_check_ticks_once_per_task_and_check_tasks_counts_them (the
  command line), tests/test_assignments.py::test_check (every assignment)
- `edition`: tests/test_edition.py::test_refusals (the command line),
  test_edition_installs_and_runs_in_a_fresh_virtual_environment (what it writes)
- `release`: tests/test_assignments.py::test_released_notebook_is_generated_from_solutions;
  `store`: tests/test_store.py
- nbgrader's release_assignment, fetch_assignment, submit and collect through the exchange:
  tests/test_collect.py::test_exchange_release_fetch_submit_collect_then_the_layout_grade_reads
- formgrader's Manual Grading in a workdir: tests/test_questions.py::
  test_formgrader_grades_the_words_and_grading_again_does_not_erase_its_score
"""

import argparse
import importlib
import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from autograder.course import COURSE

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md")), REPO / "deploy" / "README.md"]
SHELLS = {"sh", "bash", "console"}
FENCE = re.compile(
    r"^(?P<indent> *)```(?P<lang>[\w-]*)\n(?P<body>.*?)^(?P=indent)```", re.DOTALL | re.MULTILINE
)
OPERATORS = {"&&", "||", ";", "|", "&", "(", ")"}
ASSIGNMENT_ID = re.compile(r"^\d\d_[a-z]+$")


def _name(page):
    return str(page.relative_to(REPO))


def shell_blocks(text):
    """The bodies of the shell blocks of a page's text, without their indentation."""
    for match in FENCE.finditer(text):
        if match["lang"] in SHELLS:
            yield "\n".join(line[len(match["indent"]) :] for line in match["body"].splitlines())


def commands(block):
    """The simple commands of a shell block, each a list of words without its VAR=value prefixes."""
    block = re.sub(r"\\\n", " ", block)
    found = []
    for line in block.splitlines():
        line = re.sub(r"^\s*\$ ", "", line)  # a console block's prompt
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = []
        for token in [*lexer, ";"]:
            if token in OPERATORS:
                while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
                    words.pop(0)
                if words:
                    found.append(words)
                words = []
            else:
                words.append(token)
    return found


class Parsed(Exception):
    """Raised in place of running a command, once its parser has accepted the words."""

    def __init__(self, namespace):
        self.namespace = namespace


@pytest.fixture
def parse_only(monkeypatch):
    """Make every argparse parser stop right after parsing: a main() then raises Parsed."""
    parse_args = argparse.ArgumentParser.parse_args

    def parse_and_stop(self, args=None, namespace=None):
        raise Parsed(parse_args(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_and_stop)


def parse_python(words):
    """Parse `python -m MODULE ...` or `python FILE.py ...` with that program's own parser."""
    if words[1] == "-m":
        module, argv = importlib.import_module(words[2]), words[3:]
    else:
        path = REPO / words[1]
        assert path.is_file(), f"no such file: {words[1]}"
        spec = importlib.util.spec_from_file_location(f"docs_{path.stem}", path)
        module, argv = importlib.util.module_from_spec(spec), words[2:]
        spec.loader.exec_module(module)
    if module.__name__ == "autograder":  # python -m autograder: its __main__
        module = importlib.import_module("autograder.__main__")
    try:
        module.main(argv)
    except Parsed as parsed:
        return parsed.namespace
    except SystemExit as exc:
        pytest.fail(f"{' '.join(words)}: its parser refused it (exit {exc.code})")
    pytest.fail(f"{' '.join(words)}: main() returned without parsing its arguments")


def check_ids(words, values):
    for value in values:
        if isinstance(value, str) and ASSIGNMENT_ID.match(value):
            assert value in COURSE.available(), f"{' '.join(words)}: no assignment {value!r}"


def _names(table):
    """Option names of a traitlets aliases or flags dict, whose keys may be tuples of names."""
    return {name for key in table for name in (key if isinstance(key, tuple) else (key,))}


def check_nbgrader(words):
    """`nbgrader SUBCOMMAND ...`: a subcommand nbgrader has, with options that subcommand knows."""
    from nbgrader.apps import NbGraderApp

    assert len(words) > 1 and words[1] in NbGraderApp.subcommands, (
        f"{' '.join(words)}: nbgrader has no such subcommand"
    )
    app = NbGraderApp.subcommands[words[1]][0]
    if isinstance(app, str):
        module, _, name = app.rpartition(".")
        app = getattr(importlib.import_module(module), name)
    aliases, flags = _names(app.aliases), _names(app.flags)
    classes = {cls.__name__: cls for cls in app().all_configurable_classes()}
    argv, positional = words[2:], []
    while argv:
        word = argv.pop(0)
        if not word.startswith("-"):
            positional.append(word)
            continue
        name, equals, _ = word.lstrip("-").partition("=")
        if "." in name:  # --Class.trait=value
            cls, _, trait = name.rpartition(".")
            assert cls in classes, (
                f"{' '.join(words)}: nbgrader {words[1]} does not configure {cls}"
            )
            assert trait in classes[cls].class_trait_names(config=True), (
                f"{' '.join(words)}: {cls} has no {trait}"
            )
        elif name in aliases:
            if not equals:
                assert argv, f"{' '.join(words)}: --{name} needs a value"
                argv.pop(0)
        else:
            assert name in flags and not equals, (
                f"{' '.join(words)}: nbgrader {words[1]} has no option {word}"
            )
    check_ids(words, positional)


def checked(page):
    """Check every command of the page this test knows how to; return the commands checked."""
    done = []
    for block in shell_blocks(page.read_text(encoding="utf-8")):
        for words in commands(block):
            if words[0] in ("python", "python3") and len(words) > 1 and words[1] != "-c":
                namespace = parse_python(words)
                values = [
                    v
                    for key in ("assignments", "assignment", "through")
                    for v in _listed(namespace, key)
                ]
                check_ids(words, values)
            elif words[0] == "nbgrader":
                check_nbgrader(words)
            elif words[0] == "pip" and "-r" in words:
                assert (REPO / words[words.index("-r") + 1]).is_file(), " ".join(words)
            else:
                continue  # cd, jupyter, pytest, dask, helm: not ours to parse
            done.append(" ".join(words))
    return done


def _listed(namespace, key):
    value = getattr(namespace, key, None)
    return value if isinstance(value, list) else [] if value is None else [value]


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_command_of_the_page_parses(page, parse_only):
    done = checked(page)
    if page.parent.name == "docs":
        assert done, f"{_name(page)} shows no command to check"


def test_the_readme_test_command_is_the_one_ci_runs():
    """CI (.ci/run) installs requirements.txt and runs `pytest`, the README's test command."""
    readme = README.read_text(encoding="utf-8")
    test_section = readme.split("## Test (developers)", 1)[1].split("\n## ", 1)[0]
    block = next(shell_blocks(test_section))
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert block.strip() in ci, (
        f"the README's test command {block.strip()!r} is not a line of .ci/run"
    )
    start = readme.split("## Start (students)", 1)[1].split("\n## ", 1)[0]
    assert "pip install -r requirements.txt" in next(shell_blocks(start))
    assert any("-r requirements.txt" in line for line in ci)


def test_commands_are_read_as_a_shell_reads_them():
    block = (
        "NN273_EXCHANGE=/srv/x nbgrader collect 01_linear  # the latest -> grading/\n"
        "(cd week3 && nbgrader export --to grades.csv)\n"
        "python -m autograder grade S --json g.json \\\n"
        "    --scheduler \"$(python -c 'print(1)')\"\n"
    )
    assert commands(block) == [
        ["nbgrader", "collect", "01_linear"],
        ["cd", "week3"],
        ["nbgrader", "export", "--to", "grades.csv"],
        [
            "python",
            "-m",
            "autograder",
            "grade",
            "S",
            "--json",
            "g.json",
            "--scheduler",
            "$(python -c 'print(1)')",
        ],
    ]


@pytest.mark.parametrize(
    "words",
    [
        "nbgrader autograde 01_linear --no-such-option",
        "nbgrader no_such_subcommand 01_linear",
        "nbgrader autograde 99_nothing",
        "nbgrader autograde 01_linear --NoSuchClass.timeout=5",
        "nbgrader export --to",
    ],
)
def test_a_wrong_nbgrader_command_is_caught(words):
    with pytest.raises(AssertionError):
        check_nbgrader(words.split())


@pytest.mark.parametrize(
    "words",
    [
        "python -m autograder grade S",
        "python -m autograder grade S --json g.json --jobs many",
        "python -m autograder frobnicate",
    ],
)
def test_a_wrong_autograder_command_is_caught(words, parse_only):
    with pytest.raises(pytest.fail.Exception):
        parse_python(words.split())


def github_anchors(page):
    """The anchors GitHub gives the page's headings: lower case, no punctuation, '-' for spaces."""
    anchors, seen = set(), {}
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchors.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_relative_link_resolves(page):
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans are not links
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{_name(page)} links to {target}: no such file"
        if anchor:
            assert linked.suffix == ".md", (
                f"{_name(page)} links to {target}: an anchor in a file that is not markdown"
            )
            assert anchor in github_anchors(linked), (
                f"{_name(page)} links to {target}: no such heading"
            )
