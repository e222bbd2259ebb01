"""The folder a grading kernel imports from: the student edition of nn273 for one assignment, the
data, the kernel's own side of judged grading (`kernelside`) and matplotlib's font list.

It is bound read-only into the sandbox as the kernel's only course code, so the reference answers
of the assignment being graded (and of later ones) are not there to be called.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..course import ASSIGNMENTS, COURSE

__all__ = ["write_site"]

HERE = Path(__file__).resolve().parent.parent  # autograder/


def write_site(dest, assignment, course=COURSE):
    """Write `dest/` with nn273/ (edition through `assignment`), data/ and kernelside/; returns dest."""
    from ..edition import write_data, write_nn273

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if assignment in ASSIGNMENTS:
        write_nn273(dest, assignment, course)
    else:  # an assignment outside the course's order (a test's toy course): no reference at all
        write_nn273(dest, next(iter(ASSIGNMENTS)), COURSE)
    write_data(dest, link=True)  # read-only in the sandbox
    write_kernelside(dest)
    write_font_cache(dest)
    return dest


def write_font_cache(dest):
    """dest/matplotlib/: matplotlib's font list, built once here rather than in every kernel (the
    sandbox's /tmp starts empty; kernelside/boot.py copies it there)."""
    folder = Path(dest) / "matplotlib"
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MPLCONFIGDIR": str(folder), "MPLBACKEND": "Agg"}
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, check=True, capture_output=True)
    return folder


def write_kernelside(dest):
    """dest/kernelside/: the kernel's half of judged grading."""
    side = Path(dest) / "kernelside"
    side.mkdir(parents=True, exist_ok=True)
    for source in sorted((HERE / "kernelside").glob("*.py")):
        shutil.copyfile(source, side / source.name)
    return side
