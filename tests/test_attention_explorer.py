"""nn273.explorers.attention: the attention explorer's state (weights against a softmax written out,
sentences typed and refused, queries named and typed, bad arguments) and its view (controls by their
descriptions, the status line, the static fallback), without a browser."""

import ast
import base64
import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nn273.explorers.attention
from nn273.explorers.attention import (
    FEATURES,
    QUERIES,
    SENTENCES,
    WORDS,
    AttentionExplorer,
    AttentionExplorerState,
    parse_sentence,
    word_vectors,
)

pytestmark = pytest.mark.filterwarnings("error")  # a warning would reach a student's stderr

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STATUS = (
    r"query (action|subject|quality|typed) = \[[-0-9.e, ]+\] \| \d+ words \| most weight: [a-z]+ [01]\.\d{3} \| "
    r"output \[[-0-9., ]+\] nearest [a-z]+"
)


@pytest.fixture(autouse=True)
def quiet_and_no_pyplot_figures(capsys):
    """Nothing printed, nothing on stderr, and no figure left in pyplot (a notebook would show it)."""
    plt.close("all")
    yield
    assert plt.get_fignums() == []
    assert capsys.readouterr() == ("", "")


def attention_by_hand(keys, q):
    scores = np.array([k @ q for k in keys]) / np.sqrt(len(q))
    e = np.exp(scores - scores.max())
    weights = e / e.sum()
    return weights, sum(w * k for w, k in zip(weights, keys))


# ---- the state -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sentence", SENTENCES)
@pytest.mark.parametrize("query", [*QUERIES, "random"])
def test_weights_and_output_are_attention(sentence, query):
    if query == "random":
        query = np.random.default_rng(1).normal(size=len(FEATURES)) * 3
    state = AttentionExplorerState(sentence, query)
    keys = word_vectors(sentence)
    weights, output = attention_by_hand(keys, state.q)
    np.testing.assert_array_equal(state.keys, keys)
    np.testing.assert_allclose(state.weights, weights, rtol=1e-12)
    np.testing.assert_allclose(state.output, output, rtol=1e-12, atol=1e-15)
    assert state.weights.sum() == pytest.approx(1.0)


def test_the_lecture_queries_find_the_action_and_the_subject():
    state = AttentionExplorerState(SENTENCES[0], "action")
    assert state.top()[0] == "jumped" and state.nearest() == "jumped" and state.top()[1] > 0.5
    state.query = "subject"
    assert state.top()[0] == "fox" and state.nearest() == "fox" and state.top()[1] > 0.5


def test_word_order_does_not_matter():
    a = AttentionExplorerState("The quick brown fox jumped over the lazy dog.", "subject")
    b = AttentionExplorerState("dog lazy the over jumped fox brown quick the", "subject")
    np.testing.assert_allclose(b.output, a.output, rtol=1e-12)
    np.testing.assert_allclose(sorted(b.weights), sorted(a.weights), rtol=1e-12)


def test_parse_sentence():
    assert parse_sentence("The fox, being quick, jumped!") == ["the", "fox", "being", "quick", "jumped"]
    with pytest.raises(ValueError, match="'zebra' has no word vector; use the words the, a, quick"):
        parse_sentence("The zebra jumped")
    with pytest.raises(ValueError, match="at least one word"):
        parse_sentence(" ,. ")
    with pytest.raises(TypeError, match="must be a string"):
        parse_sentence(3)


def test_typed_query_is_kept_across_named_queries():
    state = AttentionExplorerState()
    state.type_query([1, 0, 0, 0, 0])
    assert state.query == "typed" and state.top()[0] in {"fox", "dog"}
    state.query = "subject"
    state.query = "typed"
    np.testing.assert_array_equal(state.q, [1, 0, 0, 0, 0])


@pytest.mark.parametrize(
    "setting, value, error, message",
    [
        ("sentence", "The zebra ran", ValueError, "zebra"),
        ("sentence", None, TypeError, "string"),
        ("query", "who", ValueError, "query must be one of"),
        ("query", [1, 2], ValueError, r"shape \(5,\)"),
        ("query", [1, 2, 3, 4, np.inf], ValueError, "finite"),
    ],
)
def test_bad_settings_raise_and_leave_the_state_as_it_was(setting, value, error, message):
    state = AttentionExplorerState(SENTENCES[1], "subject")
    before = state.describe(), state.summary()
    with pytest.raises(error, match=message):
        setattr(state, setting, value)
    assert (state.describe(), state.summary()) == before


def test_describe_and_summary():
    state = AttentionExplorerState()
    assert state.describe() == "AttentionExplorer: sentence 'The quick brown fox jumped over the lazy dog.', query action"
    assert state.summary().startswith("query action = [0, 6, 0, 0, 0] | 9 words | most weight: jumped 0.647 | output [")
    assert state.summary().endswith("nearest jumped")
    assert re.fullmatch(STATUS, state.summary())


def test_figure_shows_the_weights_and_the_output():
    fig = AttentionExplorerState(SENTENCES[0], "subject").figure()
    ax_w, ax_o = fig.axes
    assert [t.get_text() for t in ax_w.get_xticklabels()] == parse_sentence(SENTENCES[0])
    assert ax_w.get_ylabel() == "attention weight" and "query subject" in ax_w.get_title()
    assert [t.get_text() for t in ax_o.get_xticklabels()] == list(FEATURES)
    assert "nearest word 'fox'" in ax_o.get_title()


def test_the_word_vectors_are_read_only():
    with pytest.raises(ValueError):
        WORDS["fox"][0] = 2.0
    with pytest.raises(ValueError):
        QUERIES["action"][0] = 2.0


def test_the_explorer_does_not_import_nn273_attention():
    source = Path(nn273.explorers.attention.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(("." * node.level) + (node.module or ""))
    assert not {"nn273.attention", ".attention"} & imported, imported
    code = (
        "import sys\n"
        "sys.modules['nn273.attention'] = None\n"
        "from nn273.explorers.attention import AttentionExplorerState\n"
        "print(AttentionExplorerState().describe())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("AttentionExplorer: sentence ")


# ---- the view ------------------------------------------------------------------------------------


@pytest.fixture
def fake_png(monkeypatch):
    """Stand-in for AttentionExplorerState.png, much faster and telling which state it shows."""

    def png(self, dpi=80):
        return PNG_MAGIC + self.summary().encode()

    monkeypatch.setattr(AttentionExplorerState, "png", png)


def shows(ex):
    state, c = ex.state, ex.controls
    return (
        ex.status.value == state.summary()
        and bytes(ex.image.value) == state.png()
        and (c["sentence"].value, c["query"].value) == (state.sentence, state.query)
        and [cell.value for cell in ex.cells] == list(state.q)
    )


@pytest.fixture
def ex(fake_png):
    return AttentionExplorer()


def test_controls_are_named_by_their_descriptions(ex):
    assert ex.controls["sentence"].description == "sentence"
    assert ex.controls["query"].description == "query"
    assert ex.typed.description == "type"
    assert [cell.description for cell in ex.cells] == list(FEATURES)
    assert list(ex.controls["sentence"].options) == list(SENTENCES)
    assert list(ex.controls["query"].options) == ["action", "subject", "quality", "typed"]
    assert shows(ex)


def test_sentence_and_query_controls(ex):
    ex.controls["sentence"].value = SENTENCES[1]
    assert ex.state.sentence == SENTENCES[1] and shows(ex)
    ex.controls["query"].value = "subject"
    assert ex.state.query == "subject" and shows(ex) and "most weight: fox" in ex.status.value


def test_typed_sentence_and_query(ex):
    ex.typed.value = "A small cat ran under the tree."
    assert ex.state.words == ["a", "small", "cat", "ran", "under", "the", "tree"]
    assert ex.controls["sentence"].value == "A small cat ran under the tree." and shows(ex)
    ex.cells[1].value = 0.0  # action 6 -> 0
    ex.cells[2].value = 6.0  # quality
    assert ex.state.query == "typed" and ex.controls["query"].value == "typed"
    np.testing.assert_array_equal(ex.state.q, [0, 0, 6, 0, 0])
    assert shows(ex) and "most weight: small" in ex.status.value


def test_an_unknown_word_is_reported_not_raised(ex):
    before = ex.state.summary()
    ex.typed.value = "The zebra jumped"
    assert "zebra" in ex.message.value and ex.state.summary() == before
    ex.typed.value = "The dog jumped"
    assert ex.message.value == "" and ex.state.words == ["the", "dog", "jumped"] and shows(ex)


def test_mimebundle_has_the_widget_and_deterministic_text(ex):
    bundle = ex._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and bundle[WIDGET_VIEW]["model_id"] == ex.model_id
    assert bundle["text/plain"] == ex.state.describe() == repr(ex)
    assert "text/html" not in bundle


def test_mimebundle_png_is_a_real_png():
    ex = AttentionExplorer(query="subject")
    png = base64.b64decode(ex._repr_mimebundle_()["image/png"])
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    assert png == ex.state.png()
