"""The attention explorer of 06_attention: a sentence, a query, and where attention looks.

The lecture's example, "The quick brown fox jumped over the lazy dog.", with hand-made word vectors
(`WORDS`, one number per feature of `FEATURES`). Each word is its own key and its own value; a query
is a vector of the same features. Attention scores each word by query . key / sqrt(d), turns the
scores into weights with a softmax over the words, and returns the weighted mean of the values.

Two parts, as in the playground (`nn273.explorers.playground`). `AttentionExplorerState` is the model: the words,
the query, the scores, the weights and the output, with no widgets, so it can be tested and scripted.
`AttentionExplorer` is a thin ipywidgets view over it: a sentence dropdown, a text box to type a
sentence, a query dropdown, one box per feature of the query, a status line and the picture.

    >>> state = AttentionExplorerState(query="action")
    >>> state.top()
    ('jumped', 0.6468...)
    >>> state.sentence = "The fox, being quick, jumped over the dog."
    >>> state.type_query([1, 0, 0, 0, 1])      # the query becomes "typed"

    >>> AttentionExplorer(query="subject")       # the widget; where widgets don't render, a PNG

Attention is computed with torch's softmax here, never with `nn273.attention`: that module holds
06_attention's answers, and a student edition for 06 leaves it out.
"""

import re

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from nn273.validation import as_array, check_choice
from nn273.explorers.display import EditsItsState, ShowsItsPicture, figure_png

__all__ = [
    "FEATURES",
    "QUERIES",
    "SENTENCES",
    "WORDS",
    "AttentionExplorer",
    "AttentionExplorerState",
    "parse_sentence",
    "word_vectors",
]

# What each number of a word vector means. "lively" is set by hand once per word (a fox is lively
# wherever it stands), so it cannot say who acts in a given sentence: the subject query answers "fox"
# for "The dog jumped over the quick brown fox." too, as 06_attention shows and explains. A trained
# model makes its vectors from the words around instead.
FEATURES = ("thing", "action", "quality", "little word", "lively")
_W = {
    # word:      thing action quality little lively
    "the": (0.0, 0.0, 0.0, 1.0, 0.0),
    "a": (0.0, 0.0, 0.0, 1.0, 0.0),
    "quick": (0.0, 0.0, 1.0, 0.0, 0.5),
    "brown": (0.0, 0.0, 1.0, 0.0, 0.0),
    "fox": (1.0, 0.0, 0.0, 0.0, 1.0),
    "jumped": (0.0, 1.0, 0.0, 0.0, 0.5),
    "over": (0.0, 0.0, 0.0, 1.0, 0.0),
    "lazy": (0.0, 0.0, 1.0, 0.0, -0.5),
    "dog": (1.0, 0.0, 0.0, 0.0, -0.5),
    "being": (0.0, 0.5, 0.0, 1.0, 0.0),
    "cat": (1.0, 0.0, 0.0, 0.0, 0.5),
    "ran": (0.0, 1.0, 0.0, 0.0, 0.5),
    "slept": (0.0, 1.0, 0.0, 0.0, -0.5),
    "under": (0.0, 0.0, 0.0, 1.0, 0.0),
    "small": (0.0, 0.0, 1.0, 0.0, 0.0),
    "slow": (0.0, 0.0, 1.0, 0.0, -0.5),
    "tree": (1.0, 0.0, 0.0, 0.0, -1.0),
}
WORDS = {word: np.array(v) for word, v in _W.items()}
for _v in WORDS.values():
    _v.flags.writeable = False

SENTENCES = (
    "The quick brown fox jumped over the lazy dog.",
    "The fox, being quick, jumped over the dog.",
    "The dog jumped over the quick brown fox.",
    "A small cat ran under the tree.",
)
# The lecture's two questions to the sentence: what happened, and who did it.
QUERIES = {
    "action": np.array([0.0, 6.0, 0.0, 0.0, 0.0]),
    "subject": np.array([4.0, 0.0, 0.0, 0.0, 4.0]),
    "quality": np.array([0.0, 0.0, 6.0, 0.0, 0.0]),
}
for _v in QUERIES.values():
    _v.flags.writeable = False
TYPED = "typed"


def parse_sentence(text):
    """The words of `text`, lower case, punctuation dropped: a list of words of `WORDS`.

    Raises ValueError naming a word that has no vector, and the words that have one.
    """
    if not isinstance(text, str):
        raise TypeError(f"a sentence must be a string; got {type(text).__name__}")
    words = re.findall(r"[a-z]+", text.lower())
    if not words:
        raise ValueError(f"a sentence needs at least one word; got {text!r}")
    unknown = [w for w in words if w not in WORDS]
    if unknown:
        raise ValueError(
            f"{unknown[0]!r} has no word vector; use the words {', '.join(WORDS)} "
            f"(got the sentence {text!r})"
        )
    return words


def word_vectors(text):
    """(n, len(FEATURES)): the vectors of the words of `text` (see `parse_sentence`), in order."""
    return np.stack([WORDS[w] for w in parse_sentence(text)])


class AttentionExplorerState:
    """A sentence, a query and the attention of the query over the sentence's words; no widgets.

    sentence: text made of words of `WORDS` (case and punctuation ignored).
    query:    a name of `QUERIES`, or a vector of len(FEATURES) numbers, which becomes the typed query.

    The settings `sentence` and `query` are properties; assigning one recomputes. An invalid value
    raises ValueError/TypeError and leaves the state as it was.

    Attributes (float64 NumPy arrays): keys (n, F) the words' vectors, also the values; q (F,) the
    query; scores (n,) keys q / sqrt(F); weights (n,) their softmax; output (F,) weights @ keys.
    """

    def __init__(self, sentence=SENTENCES[0], query="action"):
        self._typed = QUERIES["action"].copy()
        self._sentence, self._words = None, None
        self._query = None
        self.sentence = sentence
        self.query = query

    # ---- settings ----------------------------------------------------------------------------

    @property
    def sentence(self):
        return self._sentence

    @sentence.setter
    def sentence(self, text):
        self._words = parse_sentence(text)
        self._sentence = text.strip()
        if self._query is not None:
            self._compute()

    @property
    def words(self):
        return list(self._words)

    @property
    def query_names(self):
        return (*QUERIES, TYPED)

    @property
    def query(self):
        """The name of the query in use (one of `query_names`)."""
        return self._query

    @query.setter
    def query(self, query):
        if not isinstance(query, str):
            self.type_query(query)
            return
        check_choice(query, "query", self.query_names)
        self._query = query
        self._compute()

    def type_query(self, values):
        """Use a typed query: len(FEATURES) finite numbers, one per feature."""
        q = as_array(values, "query", dtype=np.float64)
        if q.shape != (len(FEATURES),):
            raise ValueError(
                f"a typed query needs one number per feature ({', '.join(FEATURES)}): shape "
                f"({len(FEATURES)},); got shape {q.shape}"
            )
        if not np.all(np.isfinite(q)):
            raise ValueError(f"a query's numbers must be finite; got {q.tolist()}")
        self._typed = q.copy()
        self._query = TYPED
        self._compute()

    @property
    def q(self):
        """(F,) the query in use."""
        return (self._typed if self._query == TYPED else QUERIES[self._query]).copy()

    # ---- attention ---------------------------------------------------------------------------

    def _compute(self):
        self.keys = np.stack([WORDS[w] for w in self._words])
        keys, q = torch.from_numpy(self.keys), torch.from_numpy(self.q)
        scores = keys @ q / len(FEATURES) ** 0.5
        weights = torch.softmax(scores, dim=0)
        self.scores = scores.numpy()
        self.weights = weights.numpy()
        self.output = (weights @ keys).numpy()

    def top(self):
        """(word, weight) of the word with the largest weight (the first one on ties)."""
        k = int(np.argmax(self.weights))
        return self._words[k], float(self.weights[k])

    def nearest(self):
        """The word of `WORDS` whose vector is closest to the output (Euclidean distance)."""
        names = list(WORDS)
        distances = [np.linalg.norm(WORDS[w] - self.output) for w in names]
        return names[int(np.argmin(distances))]

    # ---- text and picture --------------------------------------------------------------------

    def describe(self):
        """The sentence and the query in one deterministic line."""
        return f"AttentionExplorer: sentence {self._sentence!r}, query {self._query}"

    def summary(self):
        """The status line: query | most weight | output, numbers rounded to 3 decimals."""
        word, weight = self.top()
        q = ", ".join(f"{v:g}" for v in self.q)
        out = ", ".join(f"{v:.3f}" for v in self.output)
        return (
            f"query {self._query} = [{q}] | {len(self._words)} words | most weight: {word} {weight:.3f} | "
            f"output [{out}] nearest {self.nearest()}"
        )

    def figure(self):
        """A matplotlib Figure, not registered with pyplot: the weights over the words, and the
        query beside the output, feature by feature."""
        fig = Figure(figsize=(12.0, 3.4))
        fig.subplots_adjust(left=0.06, right=0.98, bottom=0.25, top=0.85, wspace=0.25)
        ax_w, ax_o = fig.subplots(1, 2, width_ratios=[1.6, 1])
        n = len(self._words)
        top = int(np.argmax(self.weights))
        colors = ["C1" if k == top else "C0" for k in range(n)]
        ax_w.bar(range(n), self.weights, color=colors)
        ax_w.set_xticks(range(n), self._words, rotation=30)
        ax_w.set_ylim(0, 1)
        ax_w.set_ylabel("attention weight")
        ax_w.set_title(f"query {self._query}: weights over the words (sum 1)", fontsize="medium")
        x = np.arange(len(FEATURES))
        ax_o.bar(x - 0.2, self.q / max(1.0, float(np.abs(self.q).max())), 0.4, label="query (scaled)", color="0.6")
        ax_o.bar(x + 0.2, self.output, 0.4, label="output", color="C1")
        ax_o.axhline(0, color="0.3", lw=0.8)
        ax_o.set_xticks(x, FEATURES, rotation=30)
        ax_o.set_ylim(-1, 1)
        ax_o.set_ylabel("value")
        ax_o.legend(loc="lower right", fontsize="small")
        ax_o.set_title(f"output: nearest word {self.nearest()!r}", fontsize="medium")
        return fig

    def png(self, dpi=80):
        """The `figure` as PNG bytes (960 x 272 pixels at the default dpi)."""
        return figure_png(self.figure(), dpi)


# ---- the view ------------------------------------------------------------------------------------


class AttentionExplorer(EditsItsState, ShowsItsPicture, widgets.VBox):
    """The attention explorer widget: sentence and query controls, a status line, the picture.

    The keyword arguments are those of `AttentionExplorerState`; `self.state` is the state behind it.
    Controls, by their `description`: "sentence" (a dropdown of `SENTENCES`), "type" (a text box: type
    a sentence of the vocabulary and press Enter), "query" (a dropdown: action, subject, quality,
    typed) and one box per feature, described by the feature's name ("thing", "action", "quality",
    "little word", "lively"), always showing the query in use; editing one makes the query "typed".
    Every change recomputes and redraws. The status line is `state.summary()`:
    "query <name> = [...] | <n> words | most weight: <word> <weight> | output [...] nearest <word>".
    A refused value (an unknown word) is reported in red below it and changes nothing.

    Displayed, it shows the live widget where widgets render, and elsewhere (GitHub, nbconvert)
    a PNG of the current picture; its text/plain is `state.describe()`, deterministic for nbval.
    """

    def __init__(self, sentence=SENTENCES[0], query="action"):
        self.state = state = AttentionExplorerState(sentence, query)
        wide = {"description_width": "70px"}
        options = list(SENTENCES) if state.sentence in SENTENCES else [*SENTENCES, state.sentence]
        self.controls = {
            "sentence": widgets.Dropdown(options=options, value=state.sentence, description="sentence", style=wide),
            "query": widgets.Dropdown(options=state.query_names, value=state.query, description="query", style=wide),
        }
        for control in self.controls.values():
            control.layout = widgets.Layout(width="420px")
            control.observe(self._on_setting, names="value")
        self.typed = widgets.Text(
            value="",
            placeholder="type a sentence and press Enter",
            description="type",
            continuous_update=False,
            style=wide,
            layout=widgets.Layout(width="420px"),
        )
        self.typed.observe(self._on_typed_sentence, names="value")
        self.cells = [
            widgets.FloatText(value=0.0, step=0.5, description=name, style={"description_width": "80px"},
                              layout=widgets.Layout(width="170px"))
            for name in FEATURES
        ]
        for cell in self.cells:
            cell.observe(self._on_typed_query, names="value")
        self.status = widgets.Label()
        self.message = widgets.HTML()  # why the last value was refused; empty when all is well
        self.image = widgets.Image(format="png")
        self._syncing = False
        super().__init__(
            children=[
                widgets.HBox(
                    [
                        widgets.VBox([self.controls["sentence"], self.typed, self.controls["query"]]),
                        widgets.VBox([widgets.Label("query (edit a number):"), *self.cells]),
                    ]
                ),
                self.status,
                self.message,
                self.image,
            ]
        )
        self.redraw()

    # ---- actions -----------------------------------------------------------------------------

    def redraw(self):
        """Bring the controls, the picture and the status line up to date with `state`."""
        with self._sync():
            state = self.state
            sentence = self.controls["sentence"]
            if state.sentence not in sentence.options:
                sentence.options = [*SENTENCES, state.sentence]
            sentence.value = state.sentence
            self.controls["query"].value = state.query
            for cell, value in zip(self.cells, state.q):
                cell.value = float(value)
        self.image.value = self.state.png()
        self.status.value = self.state.summary()

    def _on_typed_sentence(self, change):
        if self._syncing or not change["new"].strip():
            return
        self._apply(lambda: setattr(self.state, "sentence", change["new"]))

    def _on_typed_query(self, change):
        if self._syncing:
            return
        values = [cell.value for cell in self.cells]
        self._apply(lambda: self.state.type_query(values))
