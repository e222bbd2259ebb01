"""The grading kernel: IPython with a cap on its address space (`NN273_KERNEL_MEMORY_MB`).

Run inside the sandbox as `python -I <site>/kernelside/boot.py -f CONNECTION_FILE`: isolated, so the
student's folder (the working folder) is not on sys.path while the kernel starts, and the site (the
folder above this one) is put first. With the cap, a submission
that asks for too much memory gets a MemoryError in the cell that asked, which scores that cell zero,
instead of being killed by the system, which would lose the whole notebook's grades. The cap is set
before any student code runs, hard and soft alike, so the kernel cannot raise it again.
"""

import os
import resource
import sys


def main():
    site = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:1] = [site]  # the site in place of this script's own folder
    limit_mb = int(os.environ.get("NN273_KERNEL_MEMORY_MB", "0"))
    if limit_mb > 0:
        limit = limit_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    _font_cache(site)
    from ipykernel.kernelapp import launch_new_instance

    # Only errors from the kernel's own log: its notices are noise in an instructor's grading run.
    launch_new_instance(argv=[*sys.argv[1:], "--IPKernelApp.log_level=ERROR"])


def _font_cache(site):
    """Start matplotlib from the font list built for the site, not by scanning every font again."""
    built, target = os.path.join(site, "matplotlib"), os.environ.get("MPLCONFIGDIR")
    if not (target and os.path.isdir(built)):
        return
    import shutil

    os.makedirs(target, exist_ok=True)
    for name in os.listdir(built):
        if name.endswith(".json") and not os.path.exists(os.path.join(target, name)):
            shutil.copyfile(os.path.join(built, name), os.path.join(target, name))


if __name__ == "__main__":
    main()
