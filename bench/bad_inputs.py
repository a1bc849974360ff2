"""The bad-input catalogue: every case runs as a user would run it (the `mcd` command or
`snakemake`, as a subprocess in a fresh temp folder) and is classified by what the user sees:

- clear error: non-zero exit, no traceback, and one line of the output names what the case
  expects (the file, field or value); at most one `mcd VERB: error:` / `Error:` line;
- accepted correctly: a legal input, exit 0 and the case's own check of the result holds;
- traceback: a traceback or an exception wrapper (`InputFunctionException`, `File "...` lines,
  `internal error`) in the output;
- silent: exit 0 for an input that should have been refused, or a result the check rejects;
- code run: a marker file (`PWNED`) that a crafted pickle, YAML tag or shell injection would create
  exists afterwards;
- other: anything else (a legal input refused, an error line that does not name the value, a
  timeout); shown only when it occurs.

    .venv/bin/python bench/bad_inputs.py [-k SUBSTRING] [--list]

Prints one line per case and the summary `N tried: clear error A, accepted correctly B, traceback C,
silent D, code run E` with a table per kind of input; exit status 1 unless C, D, E (and other) are 0.
The cases are in bench/bad_input_cases.py.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
MARKER = "PWNED"
CATEGORIES = ("clear error", "accepted correctly", "traceback", "silent", "code run")
OTHER = "other"
TRACEBACK_SIGNS = re.compile(r'Traceback \(most recent call last\)|Exception|^\s*File "|internal error', re.M)
ERROR_LINE = re.compile(r"^(mcd [\w-]+: error: |Error: )", re.M)


@dataclass(frozen=True)
class Run:
    returncode: int
    out: str          # stdout and stderr together
    seconds: float


@dataclass(frozen=True)
class Case:
    """`setup(folder, fixtures)` prepares a fresh folder and returns the command: argv whose first
    item is `mcd`, `snakemake` (run on folder/config.yaml) or `python`. With `check` the input is
    legal and `check(folder, run)` says whether the result is right; without it the input must be
    refused by a line holding every string of `names`."""

    name: str
    kind: str
    setup: Callable[[Path, "object"], list[str]]
    names: tuple[str, ...] = ()
    check: Callable[[Path, Run], bool] | None = None


@dataclass(frozen=True)
class Outcome:
    case: Case
    category: str
    line: str         # the error line, or why the case fell in its category
    seconds: float


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MCD_WEIGHTS_DIR"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["TQDM_DISABLE"] = "1"
    return env


def command(argv: list[str], folder: Path) -> list[str]:
    head, rest = argv[0], list(argv[1:])
    if head == "mcd":
        # the `mcd` entry point itself, importing this checkout through PYTHONPATH
        return [sys.executable, "-c", "import sys; from mcd_core.cli import main; sys.argv[0] = 'mcd'; "
                                      "sys.exit(main())", *rest]
    if head == "snakemake":
        return [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
                str(folder), "--configfile", str(folder / "config.yaml"), *rest]
    if head == "python":
        return [sys.executable, *rest]
    raise ValueError(f"unknown command {head!r}")


def execute(argv: list[str], folder: Path, timeout: float = 300) -> Run:
    start = time.monotonic()
    try:
        proc = subprocess.run(command(argv, folder), cwd=folder, env=_env(), capture_output=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        code, out = proc.returncode, (proc.stdout + proc.stderr).decode("utf-8", "replace")
    except subprocess.TimeoutExpired as exc:
        code, out = -1, f"timed out after {timeout:.0f} s\n{(exc.stderr or b'').decode('utf-8', 'replace')}"
    return Run(code, out, time.monotonic() - start)


def classify(case: Case, run: Run, folder: Path) -> tuple[str, str]:
    """(category, the line that shows it) of one finished case."""
    if any(folder.rglob(MARKER)) or (REPO / MARKER).exists():
        return "code run", f"{MARKER} exists after the command"
    sign = TRACEBACK_SIGNS.search(run.out)
    if sign:
        return "traceback", run.out[sign.start():].splitlines()[0]
    lines = [line for line in run.out.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    if run.returncode == -1:
        return OTHER, lines[0]
    if run.returncode == 0:
        if case.check is None:
            return "silent", f"exit 0, expected an error naming {case.names}; last line: {last}"
        if case.check(folder, run):
            return "accepted correctly", last
        return "silent", f"exit 0 but the result is wrong; last line: {last}"
    if case.check is not None:
        return OTHER, f"legal input refused (exit {run.returncode}): {last}"
    named = [line for line in lines if all(n in line for n in case.names)]
    if not named:
        return OTHER, f"exit {run.returncode}, no line names {case.names}; last line: {last}"
    if len(ERROR_LINE.findall(run.out)) > 1:
        return OTHER, f"more than one error line: {named[0]}"
    return "clear error", named[0]


def run_case(case: Case, fixtures, root: Path) -> Outcome:
    folder = root / re.sub(r"[^\w.-]", "_", case.name)
    folder.mkdir(parents=True)
    try:
        argv = case.setup(folder, fixtures)
    except Exception as exc:   # a broken case is reported, not a crash of the whole catalogue
        return Outcome(case, OTHER, f"setup failed: {type(exc).__name__}: {exc}", 0.0)
    run = execute(argv, folder)
    category, line = classify(case, run, folder)
    return Outcome(case, category, line, run.seconds)


def run_catalogue(cases: list[Case], fixtures, root: Path, echo: Callable[[str], None] | None = None) -> list[Outcome]:
    outcomes = []
    for case in cases:
        outcome = run_case(case, fixtures, root)
        outcomes.append(outcome)
        if echo:
            echo(f"{outcome.category:18} {case.kind:12} {case.name}: {outcome.line[:160]}")
    return outcomes


def summary(outcomes: list[Outcome]) -> str:
    counts = {c: sum(o.category == c for o in outcomes) for c in (*CATEGORIES, OTHER)}
    line = f"{len(outcomes)} tried: " + ", ".join(f"{c} {counts[c]}" for c in CATEGORIES)
    return line + (f", {OTHER} {counts[OTHER]}" if counts[OTHER] else "")


def table(outcomes: list[Outcome]) -> str:
    kinds = list(dict.fromkeys(o.case.kind for o in outcomes))
    columns = [*CATEGORIES, *([OTHER] if any(o.category == OTHER for o in outcomes) else [])]
    rows = ["| kind | tried | " + " | ".join(columns) + " |", "|---|---:|" + "---:|" * len(columns)]
    for kind in [*kinds, None]:
        mine = [o for o in outcomes if kind is None or o.case.kind == kind]
        cells = [str(sum(o.category == c for o in mine)) for c in columns]
        label = "**all**" if kind is None else kind
        rows.append(f"| {label} | {len(mine)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests")]
    from bad_input_cases import CASES, Fixtures

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="select", help="only cases whose name or kind contains this")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if not args.select or args.select in c.name or args.select in c.kind]
    if args.list:
        print("\n".join(f"{c.kind:12} {c.name}" for c in cases))
        return 0
    root = Path(tempfile.mkdtemp(prefix="bad-inputs-"))
    start = time.monotonic()
    try:
        outcomes = run_catalogue(cases, Fixtures(root / ".fixtures"), root, echo=lambda s: print(s, flush=True))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{table(outcomes)}\n\n{summary(outcomes)}  ({time.monotonic() - start:.0f} s)")
    return int(any(o.category not in ("clear error", "accepted correctly") for o in outcomes))


if __name__ == "__main__":
    sys.exit(main())
