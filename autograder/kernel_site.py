"""The folder a grading kernel imports from: the student edition of nn273 for one assignment, the
data, and the kernel's own side of judged grading (`kernelside`).

It is bound read-only into the sandbox as the kernel's only course code, so the reference answers
of the assignment being graded (and of later ones) are not there to be called.
"""

import shutil
from pathlib import Path

from .course import ASSIGNMENTS, COURSE

__all__ = ["write_site"]

HERE = Path(__file__).resolve().parent


def write_site(dest, assignment, course=COURSE):
    """Write `dest/` with nn273/ (edition through `assignment`), data/ and kernelside/; returns dest."""
    from .edition import write_data, write_nn273

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if assignment in ASSIGNMENTS:
        write_nn273(dest, assignment, course)
    else:  # an assignment outside the course's order (a test's toy course): no reference at all
        write_nn273(dest, next(iter(ASSIGNMENTS)), COURSE)
    write_data(dest)
    write_kernelside(dest)
    return dest


def write_kernelside(dest):
    """dest/kernelside/: the kernel's half of judged grading."""
    side = Path(dest) / "kernelside"
    side.mkdir(parents=True, exist_ok=True)
    for source in sorted((HERE / "kernelside").glob("*.py")):
        shutil.copyfile(source, side / source.name)
    return side
