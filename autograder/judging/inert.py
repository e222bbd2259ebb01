"""A submission's outputs and text made inert in the autograded notebook, which formgrader renders.

nbgrader's formgrader (and its feedback) render the autograded notebook with
`HTMLExporter(sanitize_html=False)`, on the server's origin: a student's HTML or JavaScript output,
an SVG with a script, or raw HTML in a markdown answer would run in the instructor's browser.

- `InertOutputs` (after the execute step): a display keeps only text/plain and PNG/JPEG images whose
  data is base64 (it goes into an `<img src=...>` attribute unescaped); its metadata only numeric
  width/height; anything else is dropped, with a note where it was. Streams and errors stay text
  (nbconvert escapes them, ansi2html), with their fields made the types the templates expect. The
  notebook's widget state goes: its keys are written into the page unescaped.
- `InertText` (at the end of the sanitize pass, after OverwriteCells put back the instructor's locked
  cells): every markdown or raw cell that is not the instructor's (locked, or the same text as in the
  instructor's notebook) is written so that it shows as text (`inert_markdown`); raw cells lose
  their format metadata, attachments keep only PNG/JPEG images.

A parallel run's recorder passes a worker's executed notebook through `InertOutputs` again (it is
idempotent) and sanitizes the submission itself again (`InertText` makes the same text of it).
"""

import base64
import binascii
import json
import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_output
from traitlets import Unicode

from nbgrader.preprocessors import NbGraderPreprocessor

__all__ = ["InertOutputs", "InertText", "inert_markdown"]

KEPT = ("text/plain", "image/png", "image/jpeg")
_IMAGES = ("image/png", "image/jpeg")


def _base64(data):
    """`data` if it is a str of base64 (whitespace allowed), else None."""
    if not isinstance(data, str):
        return None
    try:
        base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return data


def _size(value):
    """A number fit for an `<img width=...>` attribute, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if 0 < value < 100_000 else None


def _image_metadata(metadata, kept):
    out = {}
    if not isinstance(metadata, dict):
        return out
    for key in ("width", "height"):
        if _size(metadata.get(key)) is not None:
            out[key] = metadata[key]
    for mime in kept:
        inner = metadata.get(mime)
        if isinstance(inner, dict):
            sizes = {k: inner[k] for k in ("width", "height") if _size(inner.get(k)) is not None}
            if sizes:
                out[mime] = sizes
    return out


def inert_output(output):
    """[the output as it may be shown, and a note if something was dropped]."""
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return [new_output("stream", name=name, text=_text(output.get("text", "")))]
    if kind == "error":
        traceback = output.get("traceback")
        traceback = [_text(line) for line in traceback] if isinstance(traceback, list) else [_text(traceback or "")]
        return [new_output("error", ename=_text(output.get("ename", "")), evalue=_text(output.get("evalue", "")), traceback=traceback)]
    if kind not in ("display_data", "execute_result"):
        return [_note([f"an output of type {_text(kind)[:60]!r}"])]
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    kept, dropped = {}, []
    for mime, value in data.items():
        if mime == "text/plain" and isinstance(value, str):
            kept[mime] = value
        elif mime in _IMAGES and _base64(value) is not None:
            kept[mime] = value
        else:
            dropped.append(str(mime)[:60] + ("" if mime not in KEPT else " (not valid)"))
    fields = {"data": kept, "metadata": _image_metadata(output.get("metadata"), [m for m in kept if m in _IMAGES])}
    if kind == "execute_result":
        count = output.get("execution_count")
        fields["execution_count"] = count if type(count) is int else None
    shown = [new_output(kind, **fields)] if kept else []
    return shown + ([_note(dropped)] if dropped else [])


def _note(dropped):
    text = (
        f"[not shown: {', '.join(dropped)}. The autograded notebook keeps only text and PNG/JPEG images "
        "of a submission's outputs, so that nothing in it runs in a grader's browser.]\n"
    )
    return new_output("stream", name="stdout", text=text)


def _text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return json.dumps(value, default=repr)[:10_000]


class InertOutputs(NbGraderPreprocessor):
    """After the execute step: outputs of code cells as text and images only."""

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            outputs = []
            for output in cell.get("outputs", []):
                outputs.extend(inert_output(output))
            cell.outputs = outputs
            if type(cell.get("execution_count")) is not int:
                cell.execution_count = None
            cell.metadata.pop("magics_language", None)  # picks the highlighter; an unknown one breaks the page
        return cell, resources


# A link's scheme that runs script. Browsers drop tabs and newlines inside a URL and C0 characters
# before it, so the letters may be spread out and anything may come before them.
_SCHEME = re.compile(r"(j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t|v\s*b\s*s\s*c\s*r\s*i\s*p\s*t|d\s*a\s*t\s*a)(\s*):", re.IGNORECASE)


def inert_markdown(text):
    """`text` with no HTML in it and no link that runs script, reading the same: `&` and `<` become
    `&amp;` and `&lt;` (shown as `&` and `<`; no entity can spell a scheme), and a zero-width space
    before the colon of `javascript:`, `vbscript:` or `data:` makes such a link a relative one. In
    code spans the entities show as written, the price of not parsing markdown as the renderer does."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}\u200b:", text)


class InertText(NbGraderPreprocessor):
    """Last in the sanitize pass: the student's markdown and raw cells show as text."""

    solutions = Unicode(help="folder of the instructor's notebooks, <id>/<id>.ipynb").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        self._instructor = set()
        path = Path(self.solutions or ".") / str(info.get("assignment")) / f"{info.get('notebook')}.ipynb"
        if self.solutions and path.is_file():
            trusted = nbformat.read(path, as_version=4)
            self._instructor = {c.source for c in trusted.cells if c.cell_type in ("markdown", "raw")}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type not in ("markdown", "raw"):
            return cell, resources
        meta = cell.metadata.get("nbgrader", {})
        # After RestoreCellMetadata and OverwriteCells, a locked cell is the instructor's, source and all.
        if isinstance(meta, dict) and meta.get("locked") or cell.source in self._instructor:
            return cell, resources
        cell.source = inert_markdown(cell.source)
        if cell.cell_type == "raw":
            cell.metadata.pop("format", None)
            cell.metadata.pop("raw_mimetype", None)
        attachments = cell.get("attachments")
        if attachments is not None:
            kept = {}
            for name, bundle in attachments.items() if isinstance(attachments, dict) else []:
                images = {m: v for m, v in bundle.items() if m in _IMAGES and _base64(v)} if isinstance(bundle, dict) else {}
                if images and "<" not in name and '"' not in name:
                    kept[name] = images
            cell.attachments = kept
        return cell, resources
