"""The W3C Nu HTML Checker (`vnu.jar`, npm's `vnu-jar`) on Java: one run checks many files.

`vnu_jar()` installs the pinned version with npm, once, into a cache folder outside the checkout
(`$BOARD_VNU_CACHE`, else `$XDG_CACHE_HOME/board/vnu-jar-<version>`, else `~/.cache/...`);
`check(files)` runs it once over all of them (the JVM takes seconds to start) and returns its
errors. `python -m harness.vnu` installs it and prints where (`.ci/run` calls it before the tests,
whose second run may have no network).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

VERSION = "26.9.27"  # npm's vnu-jar, pinned: a newer checker may find new errors


class Unavailable(Exception):
    """java or npm is not on this machine, or npm could not install vnu-jar; the message says how
    to get it."""


def cache_dir():
    if os.environ.get("BOARD_VNU_CACHE"):
        return Path(os.environ["BOARD_VNU_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "board" / f"vnu-jar-{VERSION}"


def java():
    found = shutil.which("java")
    if not found:
        raise Unavailable("java not found (apt-get install default-jre-headless)")
    return found


def vnu_jar():
    """The path of vnu.jar, installed with npm the first time."""
    folder = cache_dir()
    jar = folder / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
    if jar.exists():
        return jar
    npm = shutil.which("npm")
    if not npm:
        raise Unavailable(f"vnu.jar not in {folder} and npm not found to install it "
                          "(apt-get install npm)")
    folder.mkdir(parents=True, exist_ok=True)
    # Into a folder of its own, then moved into place: two runs at once never see half a jar.
    staging = Path(f"{folder}.{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        done = subprocess.run(
            [npm, "install", "--prefix", str(staging), "--no-save", "--no-audit", "--no-fund",
             "--ignore-scripts", f"vnu-jar@{VERSION}"],
            capture_output=True, text=True, timeout=600)
        built = staging / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
        if done.returncode != 0 or not built.exists():
            raise Unavailable(f"npm install vnu-jar@{VERSION} failed: "
                              f"{(done.stderr or done.stdout).strip()[-800:]}")
        if not jar.exists():
            try:
                os.rename(staging / "node_modules", folder / "node_modules")
            except OSError:
                if not jar.exists():  # not another run that got there first
                    raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return jar


def check(files):
    """Check every file in one JVM run; errors only (no warnings). Returns a list of dicts with
    `file` (a Path), `line`, `column` and `message`, empty when every file is valid."""
    files = [Path(name) for name in files]
    done = subprocess.run(
        [java(), "-Xss2m", "-jar", str(vnu_jar()), "--errors-only", "--format", "json",
         *map(str, files)],
        capture_output=True, text=True, timeout=300)
    # The JSON report goes to stderr; the exit status is 1 when any error is found.
    try:
        report = json.loads(done.stderr)
    except json.JSONDecodeError:
        raise RuntimeError(f"vnu.jar did not answer JSON (status {done.returncode}): "
                           f"{done.stderr.strip()[-2000:]}") from None
    by_url = {file.resolve().as_uri(): file for file in files}
    errors = []
    for message in report.get("messages", []):
        if message.get("type") == "info":
            continue
        url = message.get("url", "")
        errors.append({
            "file": by_url.get(url, Path(url.removeprefix("file:"))),
            "line": message.get("lastLine", message.get("firstLine")),
            "column": message.get("lastColumn"),
            "message": message.get("message", ""),
            "extract": message.get("extract", ""),
        })
    if not errors and done.returncode not in (0, 1):
        raise RuntimeError(f"vnu.jar exited with status {done.returncode}: {done.stderr[-2000:]}")
    return errors


if __name__ == "__main__":
    try:
        print(vnu_jar())
    except Unavailable as error:
        print(f"vnu: {error}", file=sys.stderr)
        sys.exit(1)
