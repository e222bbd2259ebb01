"""What every explorer's view shares: how it shows itself where widgets cannot render, how its
controls edit its state, and one torch thread for tiny tensors.

An explorer (nn273/explorers/) is a pure state object, seeded and testable without a browser,
beside a thin ipywidgets view. The view mixes in `ShowsItsPicture` (before `widgets.VBox` among
its bases) and, when its controls set attributes of the state, `EditsItsState`.
"""

import base64
import contextlib
import html
import io

import torch

__all__ = ["EditsItsState", "Setting", "ShowsItsPicture", "figure_png", "one_torch_thread"]


class Setting:
    """A setting of an explorer's state object: read as an attribute (kept in `_<name>`); set, the
    value goes through `check` (which returns it, or raises ValueError/TypeError saying what was
    expected) and the state computes again with its method `recompute` (a name)."""

    def __init__(self, check, recompute):
        self.check, self.recompute = check, recompute

    def __set_name__(self, owner, name):
        self.attribute = f"_{name}"

    def __get__(self, state, owner=None):
        return self if state is None else getattr(state, self.attribute)

    def __set__(self, state, value):
        setattr(state, self.attribute, self.check(value))
        getattr(state, self.recompute)()


def figure_png(figure, dpi=80):
    """A matplotlib Figure as PNG bytes: what a view shows, and its picture where widgets cannot render."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


@contextlib.contextmanager
def one_torch_thread():
    # The tensors are tiny: extra threads only add synchronisation, and while other processes keep
    # the cores busy that made training 10-50 times slower (measured). The setting is global, so
    # it is restored afterwards.
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n_threads)


class ShowsItsPicture:
    """Display of a widget (before widgets.VBox among its bases) that has `state.describe()`, an
    `image` (ipywidgets Image) and `redraw()`: the live view, plus a picture and a deterministic text
    for where the view can't render (GitHub, nbconvert) and for nbval, which compares text/plain."""

    def __repr__(self):
        return self.state.describe()

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)  # DOMWidget's bundle holds the widget view
        if bundle is None:
            return None
        self.redraw()
        bundle["text/plain"] = self.state.describe()
        bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        return bundle


class EditsItsState:
    """Controls of a widget that set attributes of its `state`: `self.controls` (attribute name ->
    control, each observed with `_on_setting`), `self.message` (an HTML widget for refusals),
    `redraw()`. A value the state refuses (TypeError, ValueError) is shown in red under the status
    line instead of vanishing into the kernel's log; controls set by `redraw` inside `_sync()` do
    not act as if the user had changed them."""

    _syncing = False

    @contextlib.contextmanager
    def _sync(self):
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False

    def redraw(self):
        """Bring the controls, the picture (`image`) and the status line (`status`) up to date with
        `state`: each control shows the state's attribute of its name. A view whose controls are not
        one per attribute writes its own."""
        with self._sync():
            for name, control in self.controls.items():
                control.value = getattr(self.state, name)
        self.image.value = self.state.png()
        self.status.value = self.state.summary()

    def _apply(self, action):
        try:
            action()
        except (TypeError, ValueError) as error:
            self.message.value = f'<span style="color: #b00">{html.escape(str(error))}</span>'
            return
        self.message.value = ""
        self.redraw()

    def _on_setting(self, change):
        if self._syncing:
            return
        name = next(n for n, c in self.controls.items() if c is change["owner"])
        self._apply(lambda: setattr(self.state, name, change["new"]))
