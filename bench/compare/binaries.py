"""Which ringmx binaries to measure: the newest optimized build, copied aside
so that another engineer relinking a build tree mid-run changes nothing."""

import glob
import os
import shutil

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def optimized_build(binary):
    """False for sanitizer or Debug builds: timing those would compare
    instrumentation, not servers (and LeakSanitizer changes exit codes)."""
    build_dir = os.path.join(REPO, os.path.relpath(binary, REPO).split(os.sep)[0])
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            cache = f.read()
    except OSError:
        return False
    return not any(flag in cache for flag in (
        "RINGMX_SANITIZE:BOOL=ON", "RINGMX_FUZZ:BOOL=ON", "CMAKE_BUILD_TYPE:STRING=Debug",
        "--coverage", "-fprofile-arcs"))


def newest(pattern):
    """The most recently built optimized binary matching a glob, or None."""
    found = [p for p in glob.glob(os.path.join(REPO, pattern))
             if os.access(p, os.X_OK) and optimized_build(p)]
    return max(found, key=os.path.getmtime) if found else None


def snapshot(binary, workdir):
    """A private copy of binary under workdir/bin, or None without one."""
    if not binary:
        return None
    os.makedirs(os.path.join(workdir, "bin"), exist_ok=True)
    copy = os.path.join(workdir, "bin", os.path.basename(binary))
    shutil.copy2(binary, copy)
    return copy
