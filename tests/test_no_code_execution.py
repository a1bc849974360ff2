"""No file read can run code: the sources hold no unsafe deserialisation (a scan of mcd_core/,
workflow/, the Snakefile and bench/), and a checkpoint or weights file whose unpickling would create
a file is refused by every verb that reads one, in one line naming it, with nothing created."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from test_train import files as run_inputs  # noqa: F401  (module fixture: the tiny synthetic dataset)

REPO = Path(__file__).resolve().parents[1]

# --- the scan --------------------------------------------------------------------------------

# (what, pattern): a line matching is unsafe wherever it is
_ALWAYS = [
    ("weights_only=False", re.compile(r"weights_only\s*=\s*False")),
    ("pickle module", re.compile(r"^\s*(import|from)\s+(c?pickle|_pickle|dill|cloudpickle|joblib|shelve|marshal)\b")),
    ("pickle call", re.compile(r"\b(c?pickle|dill|cloudpickle|joblib|marshal)\.loads?\s*\(")),
    ("read_pickle", re.compile(r"\bread_pickle\s*\(")),
    ("allow_pickle=True", re.compile(r"allow_pickle\s*=\s*True")),
    ("unsafe YAML", re.compile(r"\b(unsafe_load|full_load|load_all|UnsafeLoader|FullLoader)\b|yaml\.Loader\b")),
    ("eval/exec", re.compile(r"(?<![\w.])(eval|exec)\s*\(")),
    ("torch.hub.load / torch.jit.load", re.compile(r"\b(hub|jit)\.load\s*\(")),
]
# (what, call, what its arguments must hold)
_CALLS = [
    ("torch.load without weights_only=True", re.compile(r"\btorch\.load\s*\("), re.compile(r"weights_only\s*=\s*True")),
    ("yaml.load without SafeLoader", re.compile(r"\byaml\.load\s*\("), re.compile(r"Loader\s*=\s*(yaml\.)?C?SafeLoader")),
]


def _arguments(text: str, start: int) -> str:
    """The text between the bracket opened just before `start` and its matching close."""
    depth = 1
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i]
    return text[start:]


def unsafe_calls(text: str) -> list[tuple[int, str]]:
    """(line number, what) of every unsafe deserialisation in a source text (Python or Snakemake)."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        found += [(n, what) for what, pattern in _ALWAYS if pattern.search(line)]
    for what, call, needed in _CALLS:
        for m in call.finditer(text):
            if not needed.search(_arguments(text, m.end())):
                found.append((text.count("\n", 0, m.start()) + 1, what))
    return sorted(found)


def _sources() -> list[Path]:
    files = [*REPO.joinpath("mcd_core").rglob("*.py"), *REPO.joinpath("workflow").rglob("*.py"),
             *REPO.joinpath("workflow").rglob("*.smk"), *REPO.joinpath("bench").rglob("*.py"),
             REPO / "Snakefile"]
    return sorted(f for f in files if f.is_file())


def test_no_source_deserialises_unsafely():
    sources = _sources()
    assert len(sources) > 50 and REPO / "Snakefile" in sources
    assert any(f.suffix == ".smk" for f in sources) and any("bench" in f.parts for f in sources)
    bad = [f"{f.relative_to(REPO)}:{n}: {what}" for f in sources
           for n, what in unsafe_calls(f.read_text(encoding="utf-8"))]
    assert not bad, "unsafe deserialisation:\n" + "\n".join(bad)


@pytest.mark.parametrize("snippet", [
    "x = torch.load(path)",
    "x = torch.load(\n    path,\n    map_location='cpu',\n)",
    "x = torch.load(path, weights_only=False)",
    "x = torch.load(path, map_location=torch.device('cpu'), weights_only=False)",
    "import pickle",
    "from pickle import loads",
    "obj = pickle.load(fh)",
    "arr = np.load(path, allow_pickle=True)",
    "cfg = yaml.load(text)",
    "cfg = yaml.load(text, Loader=yaml.Loader)",
    "cfg = yaml.unsafe_load(text)",
    "cfg = yaml.full_load(text)",
    "value = eval(text)",
    "exec(code)",
    "m = torch.hub.load('repo', 'model')",
])
def test_the_scan_flags_unsafe_code(snippet):
    assert unsafe_calls(f"import torch\n{snippet}\n")


@pytest.mark.parametrize("snippet", [
    "x = torch.load(path, map_location='cpu', weights_only=True)",
    "x = torch.load(\n    f(path),\n    weights_only=True,\n)",
    "cfg = yaml.safe_load(text)",
    "cfg = yaml.load(text, Loader=yaml.SafeLoader)",
    "model = build(cfg).eval()",
    "v = ast.literal_eval(text)",
    "arr = np.load(path)",
])
def test_the_scan_passes_safe_code(snippet):
    assert unsafe_calls(f"import torch\n{snippet}\n") == []


# --- every verb that reads a checkpoint or weights file refuses a crafted one ------------------

class _CreatesFile:
    """Unpickling this runs `func(marker, ...)`: here it creates the marker file."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def _crafted(path: Path, marker: Path, how: str = "touch") -> Path:
    """A real-looking torch file (torch.save's zip) whose unpickling would create `marker`."""
    import torch

    payload = _CreatesFile(Path.touch, marker) if how == "touch" else _CreatesFile(open, str(marker), "w")
    torch.save({"model": {}, "architecture": "mcd", "model_config": {}, "payload": payload}, path)
    return path


def _refused(main, args, capsys, crafted: Path, marker: Path) -> str:
    """Run `mcd args`: exit 2, one stderr line naming the file, no traceback, marker not created."""
    capsys.readouterr()
    code = main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert not marker.exists(), "unpickling ran code"
    assert len(err) == 1, err
    assert str(crafted) in err[0] and "Traceback" not in err[0] and err[0].startswith(f"mcd {args[0]}: error: ")
    assert "could run code" in err[0]   # says why, and not torch's advice to load it unsafely
    return err[0]


def _cli():
    from mcd_core.cli import main

    return main


@pytest.mark.parametrize("how", ["touch", "open"])
def test_predict_refuses_a_crafted_checkpoint(run_inputs, tmp_path, capsys, how):
    files, marker = run_inputs, tmp_path / "created"
    crafted = _crafted(tmp_path / "best.pt", marker, how)
    _refused(_cli(), ["predict", "--checkpoint", str(crafted), "--annotations", str(files.val),
                      "--vocab", str(files.vocab), "--audio", str(files.audio), "--visual", str(files.visual),
                      "--out", str(tmp_path / "p.csv"), "--device", "cpu"], capsys, crafted, marker)
    assert not (tmp_path / "p.csv").exists()


def test_train_resume_refuses_a_crafted_last_pt_of_this_config(run_inputs, tmp_path, capsys):
    """A last.pt beside this very config's config.json is read (to continue the run), so a crafted
    one must stop the run naming it: starting afresh would hide a tampered or damaged run folder."""
    from test_train import TINY_SET

    files, marker, run = run_inputs, tmp_path / "created", tmp_path / "run"
    args = ["train", "--train", str(files.train), "--val", str(files.val), "--vocab", str(files.vocab),
            "--audio", str(files.audio), "--visual", str(files.visual), "--out-dir", str(run),
            "--epochs", "1", "--device", "cpu", "--threads", "1", "--resume",
            *sum((["--set", s] for s in TINY_SET), [])]
    assert _cli()(args) == 0
    assert json.loads((run / "config.json").read_text())   # the config the rerun compares with
    (run / "final.json").unlink()            # as if killed after the epoch: --resume reads last.pt
    _crafted(run / "last.pt", marker)
    line = _refused(_cli(), args, capsys, run / "last.pt", marker)
    assert "delete it (or its run folder)" in line


def test_ask_refuses_a_crafted_best_pt(run_inputs, tmp_path, capsys):
    from videos import make_video

    files, marker, run = run_inputs, tmp_path / "created", tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"inputs": {"vocab": str(files.vocab), "format": "music_avqa"}}))
    crafted = _crafted(run / "best.pt", marker)
    video = make_video(tmp_path / "v.mp4", seconds=1, size=(32, 24))
    _refused(_cli(), ["ask", "--run", str(run), "--video", str(video), "--question", "Is it loud?",
                      "--device", "cpu"], capsys, crafted, marker)


def test_paper_table_refuses_a_crafted_checkpoint(tmp_path, capsys):
    from test_paper_tables import write_scores

    from mcd_core.scoring.experiments import get_experiment

    marker = tmp_path / "created"
    crafted = _crafted(tmp_path / "best.pt", marker)
    args = ["paper-table", "--experiment", "table8", "--out", str(tmp_path / "t.csv"), "--md", str(tmp_path / "t.md")]
    for row in get_experiment("table8").rows:
        args += ["--scores", f"{row.key}={write_scores(tmp_path / f'{row.key}.csv', 60.0, '0')}",
                 "--checkpoint", f"{row.key}={crafted}"]
    _refused(_cli(), args, capsys, crafted, marker)
    assert not (tmp_path / "t.csv").exists()


@pytest.mark.parametrize("name", ["resnet18",       # a library checkpoint (hub source): torch.load
                                  "panns_cnn14",    # a release file with its own converter
                                  "vggish_pca"])    # the converter that allows numpy arrays
def test_weights_import_refuses_a_crafted_file(tmp_path, capsys, name):
    marker = tmp_path / "created"
    crafted = _crafted(tmp_path / "download.pth", marker)
    _refused(_cli(), ["weights", "import", name, str(crafted), "--weights-dir", str(tmp_path / "w")],
             capsys, crafted, marker)
    assert not any((tmp_path / "w").glob("*.pth"))


@pytest.mark.parametrize("module", ["numpy._core.multiarray", "numpy.core.multiarray"])
def test_the_vggish_pca_converter_reads_numpy_arrays_of_either_numpy_generation(tmp_path, module):
    """The numpy allowlist of `_pca_state` is needed (files of numpy < 2 name numpy.core) and is
    all it allows: the crafted file above is refused through the same path."""
    import zipfile

    import numpy as np
    import torch

    from mcd_core.features.backbones.vggish import _pca_state

    new = tmp_path / "new.pth"
    torch.save({"pca_eigen_vectors": np.eye(3), "pca_means": np.arange(3.0)}, new)
    with zipfile.ZipFile(new) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    pkl = next(n for n in parts if n.endswith("data.pkl"))
    parts[pkl] = parts[pkl].replace(b"numpy._core.multiarray", module.encode())
    path = tmp_path / "pca.pth"
    with zipfile.ZipFile(path, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    state = _pca_state(path)
    assert torch.equal(state["pca_eigen_vectors"], torch.eye(3)) and state["pca_means"].tolist() == [0, 1, 2]
