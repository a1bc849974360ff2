"""`mcd status RESULTS/DATASET`: where a dataset's pipeline stands, read from the files it writes.

No Snakemake, no torch: training runs (results/D/runs/TAG/VARIANT/seedK/) are finished (final.json),
running (last.pt or metrics.csv, no final.json: epoch k/K and an ETA from metrics.csv's epoch
times), stopped (the process its `process.json` names is gone: killed outright) or failed (their log, results/D/logs/train/TAG/VARIANT_seedK.log, ends with an error line);
each sharded stage (frames, wav, logmel, and the feature streams per backbone) counts its shards
done (output exists), failed (log ends with an error), running (log only) and missing (docs/progress.md).
"""

from __future__ import annotations

import csv
import json
import math
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mcd_core.common.liveness import writer_state
from mcd_core.common.progress_lines import duration


class StatusError(ValueError):
    """The folder is not a dataset's results folder."""


# What a dataset's results folder holds (Snakefile rules); any one of them makes it one.
MARKERS = ("runs", "features", "logs", "shards", "frames", "audio", "logmel", "vocab.json")
# Per-shard media stages: (stage, output folder, its outputs' suffix, log folder).
MEDIA_STAGES = (("frames", "frames", "", "frames"), ("wav", "audio", "", "audio"),
                ("logmel", "logmel", ".zarr", "logmel"))
# Per-shard feature streams: log folder -> stream (features/STREAM/BACKBONE/SHARD.zarr).
FEATURE_LOGS = {"visual": "visual", "visual_patch": "visual_patch", "audio_features": "audio",
                "visual_map": "visual_map", "tome": "tome"}

_ERROR = re.compile(r"^(mcd [\w-]+: (error|internal error|interrupted)\b"  # mcd's own last lines
                    r"|[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b(:|$)"  # a traceback's last line
                    r"|\S+ \S+ (ERROR|CRITICAL) )")  # logging's format: date time LEVEL name: message


def last_error(log: Path, tail: int = 65536) -> str | None:
    """The last non-blank line of `log` when it reports an error (else None)."""
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, fh.seek(0, 2) - tail))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and _ERROR.match(lines[-1]):
        return lines[-1]
    return None


@dataclass
class RunStatus:
    run: str                        # TAG/VARIANT/seedK
    state: str                      # finished | running | stopped (its process is gone) | failed
    epoch: int = 0                  # epochs done
    epochs: int | None = None       # K, from config.json
    val: float | None = None        # best val accuracy so far (%)
    test: float | None = None       # test accuracy of that epoch, when recorded
    best_epoch: int | None = None
    eta_s: float | None = None      # running: mean epoch time x epochs left
    updated_s: float | None = None  # running: seconds since metrics.csv (or last.pt) was written
    error: str | None = None        # failed: the log's last line
    process: str = ""               # running/stopped: the process that trains it (process.json)


@dataclass
class StageStatus:
    stage: str                      # frames, wav, logmel, or a feature stream
    backbone: str                   # "" for the media stages
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # shard -> the log's last line
    running: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    merged: bool | None = None      # feature streams: the merged store exists


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _best(rows: list[dict[str, Any]]) -> tuple[int | None, float | None, float | None]:
    """(epoch, val, test) of the first epoch with the best val accuracy."""
    best = None
    for row in rows:
        val = _number(row.get("val_acc"))
        if val is not None and (best is None or val > best[1]):
            best = (int(float(row["epoch"])), val, _number(row.get("test_acc")))
    return best or (None, None, None)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_status(run_dir: Path, log: Path, now: float) -> RunStatus | None:
    name = "/".join(run_dir.parts[-3:])
    config = _read_json(run_dir / "config.json")
    epochs = config.get("train", {}).get("epochs") if isinstance(config, dict) else None
    final = _read_json(run_dir / "final.json")
    error = last_error(log) if log.is_file() else None
    if error and isinstance(final, dict) and log.stat().st_mtime > (run_dir / "final.json").stat().st_mtime:
        final = None  # a later attempt failed (Snakemake re-ran the job after a change)
    if isinstance(final, dict):
        history = final.get("history") or []
        epoch, val, test = _best(history)
        return RunStatus(name, "finished", len(history), epochs or len(history) or None,
                         _number(final.get("best_val_acc")), test, final.get("best_epoch", epoch))
    try:
        with open(run_dir / "metrics.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        rows = []
    written = [p for p in (run_dir / "metrics.csv", run_dir / "last.pt") if p.is_file()]
    if not error and not written and not log.is_file():
        return None
    epoch = max((int(float(r["epoch"])) for r in rows if _number(r.get("epoch")) is not None), default=0)
    best_epoch, val, test = _best(rows)
    last = _read_json(run_dir / "last.json")  # last.pt's epoch: Snakemake removes a killed job's metrics.csv
    if isinstance(last, dict) and (_number(last.get("epoch")) or 0) > epoch:
        epoch, best_epoch, val, test = int(last["epoch"]), last.get("best_epoch"), _number(last.get("best_val_acc")), None
    status = RunStatus(name, "failed" if error else "running", epoch, epochs, val, test, best_epoch, error=error)
    if not error:
        alive, status.process = writer_state(run_dir)
        if alive == "gone":  # killed outright (SIGKILL, out of memory, a lost node): its marker stayed
            status.state = "stopped"
        elif alive == "elsewhere":
            status.process = f"on {status.process}"
        seconds = [s for s in (_number(r.get("seconds")) for r in rows) if s is not None]
        if seconds and epochs and status.state == "running":
            status.eta_s = sum(seconds) / len(seconds) * max(0, epochs - epoch)
        stamps = [p.stat().st_mtime for p in written] or [log.stat().st_mtime]
        status.updated_s = max(0.0, now - max(stamps))
    return status


_LOG_NAME = re.compile(r"(.+)_(seed\d+)\.log")


def runs_status(results: Path, now: float) -> list[RunStatus]:
    """Every run that has a folder under runs/ or a log under logs/train/."""
    found: dict[tuple[str, str, str], Path] = {}
    for run_dir in sorted((results / "runs").glob("*/*/seed*")):
        if run_dir.is_dir() and re.fullmatch(r"seed\d+", run_dir.name):
            found[run_dir.parts[-3], run_dir.parts[-2], run_dir.name] = run_dir
    for log in sorted((results / "logs" / "train").glob("*/*.log")):
        match = _LOG_NAME.fullmatch(log.name)
        if match:
            key = (log.parent.name, match[1], match[2])
            found.setdefault(key, results / "runs" / key[0] / key[1] / key[2])
    statuses = []
    for (tag, variant, seed), run_dir in sorted(found.items()):
        status = run_status(run_dir, results / "logs" / "train" / tag / f"{variant}_{seed}.log", now)
        if status is not None:
            statuses.append(status)
    return statuses


def _names(folder: Path, suffix: str, pattern: str = "*") -> set[str]:
    if not folder.is_dir():
        return set()
    if suffix:
        return {p.name[:-len(suffix)] for p in folder.glob(pattern + suffix) if p.is_dir()}
    return {p.name for p in folder.glob(pattern) if p.is_dir()}


def _stage(stage: str, backbone: str, outputs: Path, suffix: str, logs: Path, expected: set[str]) -> StageStatus:
    done = _names(outputs, suffix)
    logged = {p.stem: p for p in logs.glob("*.log")} if logs.is_dir() else {}
    status = StageStatus(stage, backbone, done=sorted(done))
    for shard in sorted((expected | set(logged)) - done):
        error = last_error(logged[shard]) if shard in logged else None
        if error:
            status.failed[shard] = error
        elif shard in logged:
            status.running.append(shard)
        else:
            status.missing.append(shard)
    return status


def stages_status(results: Path) -> list[StageStatus]:
    """Each per-shard stage that has an output or a log, with its shards' states."""
    expected = {p.stem for p in (results / "shards").glob("*.txt")}
    stages = []
    for stage, folder, suffix, log_dir in MEDIA_STAGES:
        outputs, logs = results / folder, results / "logs" / log_dir
        if _names(outputs, suffix) or (logs.is_dir() and any(logs.glob("*.log"))):
            stages.append(_stage(stage, "", outputs, suffix, logs, expected))
    pairs: dict[tuple[str, str], Path] = {}
    for log_dir, stream in FEATURE_LOGS.items():
        for backbone in sorted(p for p in (results / "features" / stream).glob("*") if p.is_dir()
                               and not p.name.endswith(".zarr") and any(p.glob("*.zarr"))):
            pairs.setdefault((stream, backbone.name), results / "logs" / log_dir / backbone.name)
        for logs in sorted(p for p in (results / "logs" / log_dir).glob("*") if p.is_dir()):
            pairs.setdefault((stream, logs.name), logs)
    for (stream, backbone), logs in sorted(pairs.items()):
        outputs = results / "features" / stream / backbone
        status = _stage(stream, backbone, outputs, ".zarr", logs, expected)
        status.merged = (results / "features" / stream / f"{backbone}.zarr").is_dir()
        stages.append(status)
    return stages


def check_results_folder(results: Path) -> None:
    if not results.is_dir():
        raise StatusError(f"{results} is not a folder")
    if any((results / marker).exists() for marker in MARKERS):
        return
    inner = sorted(p.name for p in results.iterdir()
                   if p.is_dir() and any((p / marker).exists() for marker in MARKERS))
    if inner:
        raise StatusError(f"{results} holds the results of {', '.join(inner)}: give one, "
                          f"e.g. `mcd status {results / inner[0]}`")
    raise StatusError(f"{results} is not a dataset's results folder (it has none of "
                      f"{', '.join(MARKERS[:4])}, ...); give results/<dataset>")


def pipeline_status(results: str | Path, now: float | None = None) -> dict[str, Any]:
    results = Path(results)
    check_results_folder(results)
    now = time.time() if now is None else now
    return {"results": str(results), "runs": runs_status(results, now), "stages": stages_status(results)}


def as_json(status: dict[str, Any]) -> str:
    return json.dumps({**status, "runs": [asdict(r) for r in status["runs"]],
                       "stages": [asdict(s) for s in status["stages"]]}, indent=1)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    return ["  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in (header, *rows)]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 4] + " ..."


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _run_note(r: RunStatus) -> str:
    if r.state == "finished":
        return f"best epoch {r.best_epoch}" if r.best_epoch else ""
    if r.state == "failed":
        return _clip(r.error or "", 100)
    if r.state == "stopped":
        return (f"{r.process} is gone (killed?); a rerun resumes after epoch {r.epoch}"
                + (f", updated {duration(r.updated_s)} ago" if r.updated_s is not None else ""))
    return ", ".join(p for p in (f"ETA {duration(r.eta_s)}" if r.eta_s is not None else "",
                                 f"updated {duration(r.updated_s)} ago" if r.updated_s is not None else "",
                                 r.process if r.process.startswith("on host") else "") if p)


def as_text(status: dict[str, Any]) -> str:
    lines = []
    runs, stages = status["runs"], status["stages"]
    counts = {s: sum(r.state == s for r in runs) for s in ("finished", "running", "stopped", "failed")}
    lines.append(f"runs in {status['results']}: " + (", ".join(f"{n} {s}" for s, n in counts.items() if n)
                                                     or "none yet"))
    if runs:
        lines += _table(("run", "state", "epoch", "val", "test", "note"),
                        [(r.run, r.state, f"{r.epoch}/{r.epochs or '?'}", _pct(r.val), _pct(r.test), _run_note(r))
                         for r in runs])
    lines.append("shards per stage" + ("" if stages else ": none yet"))
    if stages:
        rows = []
        for s in stages:
            total = len(s.done) + len(s.failed) + len(s.running) + len(s.missing)
            rows.append((s.stage, s.backbone or "-", f"{len(s.done)}/{total}", str(len(s.failed)),
                         str(len(s.running)), str(len(s.missing)), {None: "-", True: "yes", False: "no"}[s.merged]))
        lines += _table(("stage", "backbone", "done", "failed", "running", "missing", "merged"), rows)
        for s in stages:
            for shard, error in s.failed.items():
                lines.append(_clip(f"  failed {s.stage}{'/' + s.backbone if s.backbone else ''} {shard}: {error}", 200))
    return "\n".join(lines)
