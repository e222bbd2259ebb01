"""Progress of a long command (`grade`, `check`): a live bar with an ETA on a terminal, plain lines
elsewhere (CI logs, pipes, files), so a log keeps one line per step and a person sees the time left.

    with Progress(total=300, unit="notebook") as progress:
        progress.step("graded alice/03_backprop: 17/17")   # one unit done, and its line
        progress.line("03_backprop: ok")                    # a line, no unit done

On a terminal every line is written above the bar (tqdm.write), so nothing is drawn over; without
one each step's line is prefixed with its count, `[ 12/300]`.
"""

import sys

__all__ = ["Progress"]


class Progress:
    """`total` units of work (notebooks, tasks); a bar on a terminal, else plain lines, on `file`
    (default stdout). `bar` forces one or the other (default: whether `file` is a terminal)."""

    def __init__(self, total, unit="item", file=None, bar=None, description=None):
        if int(total) < 0:
            raise ValueError(f"total must be 0 or more units of work, got {total}")
        self.file = sys.stdout if file is None else file
        self.total, self.done = int(total), 0
        self.bar = None
        if self.file.isatty() if bar is None else bar:
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.total,
                unit=unit,
                desc=description,
                file=self.file,
                dynamic_ncols=True,
                mininterval=0,  # a step takes seconds: draw every one
                miniters=1,
                smoothing=0.2,  # the ETA follows the recent pace (loads change, a resumed run keeps some at once)
                bar_format="{desc}{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]",
            )

    def step(self, text=None):
        """One unit of work is done; `text` (optional) says which and how it went."""
        self.done += 1
        if self.bar is not None:
            if text:
                self.bar.write(text, file=self.file)
            self.bar.update(1)
        elif text:
            width = len(str(self.total))
            self._print(f"[{self.done:>{width}}/{self.total}] {text}")

    __call__ = step  # the `progress` callbacks of grade_submissions: one call per notebook graded

    def line(self, text):
        """A line that is not a unit of work (a heading, a result)."""
        if self.bar is not None:
            self.bar.write(text, file=self.file)
        else:
            self._print(text)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _print(self, text):
        print(text, file=self.file, flush=True)
