"""
Runs kept in the repository: each finished (or failed) benchmark run leaves its `metrics.json`
and `config.json` under `results/<benchmark>/<run>/`, so a sweep that did not finish continues in
a later session on another machine (runs with results are not run again), and the tables of
`docs/results/` are regenerated from those files alone (`python -m benchmarks.render`).

Serialization directories (model archives, checkpoints, logs) stay under `runs/`, which git
ignores. A run that is being trained holds `runs/<benchmark>/<run>.lock`, so two sweep processes
over the same plan share the work instead of training the same run twice.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
# The generated pages, one per experiment (`write_section`).
DOCS = Path("docs") / "results"
ALLENNLP = str(Path(sys.executable).parent / "allennlp")
# The paper authors' code, run side by side with ours (never imported by the project).
ANCHORS = Path(
    os.environ.get("ANCHORS_DIR", ROOT.parent / "shared" / "anchors" / "interpretable_predictions")
)


def result_dir(benchmark: str, name: str) -> Path:
    return RESULTS / benchmark / name


def load_results(benchmark: str) -> Dict[str, Dict]:
    """Every kept run of a benchmark: name -> {"metrics": ...} or {"failed": ...}, plus extras."""
    kept = {}
    for directory in sorted((RESULTS / benchmark).glob("*")):
        if (directory / "metrics.json").exists():
            entry = {"metrics": json.loads((directory / "metrics.json").read_text())}
        elif (directory / "failed.json").exists():
            entry = {"failed": json.loads((directory / "failed.json").read_text())}
        else:
            continue
        for extra in directory.glob("*.json"):
            if extra.stem not in ("metrics", "failed", "config"):
                entry[extra.stem] = json.loads(extra.read_text())
        kept[directory.name] = entry
    return kept


def _lock(path: Path) -> bool:
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


def train(
    benchmark: str,
    name: str,
    config: Path,
    overrides: Dict,
    runs: Path,
    after: Optional[callable] = None,
    env: Optional[Dict[str, str]] = None,
    extend: bool = False,
) -> str:
    """
    Trains one run with `allennlp train` (one thread) unless its results are kept already or
    another process holds its lock; keeps its results. `after(serialization_dir, result_dir)`
    runs after a successful training (e.g. extra evaluations). Returns "kept", "busy", "done" or
    "failed".

    With `extend`, a kept run trained for fewer epochs than `overrides["trainer.num_epochs"]` is
    continued from its last checkpoint in `runs/` (`allennlp train --recover` with the new epoch
    count written into the serialization directory's `config.json`; the Lagrangian callback's
    multipliers are in the checkpoint). Its kept results are replaced only when that succeeds.
    """
    kept = result_dir(benchmark, name)
    directory = runs / name
    if (kept / "metrics.json").exists() and not (extend and _shorter(kept, overrides)):
        return "kept"
    runs.mkdir(parents=True, exist_ok=True)
    lock = runs / f"{name}.lock"
    if not _lock(lock):
        return "busy"
    try:
        extending = (kept / "metrics.json").exists()
        if extending:
            _prepare_extension(directory, overrides["trainer.num_epochs"])
        command = _train_command(config, directory, overrides)
        env = _one_thread(env)
        log_path = runs / f"{name}.log"
        print(f"[{time.strftime('%H:%M:%S')}] start {benchmark}/{name}", flush=True)
        if not (directory / "metrics.json").exists():
            with open(log_path, "a") as log:
                code = subprocess.run(
                    command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
                ).returncode
        else:
            code = 0
        kept.mkdir(parents=True, exist_ok=True)
        if code != 0:
            tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
            (kept / "failed.json").write_text(
                json.dumps({"returncode": code, "overrides": overrides, "log_tail": tail}, indent=2)
            )
            print(f"[{time.strftime('%H:%M:%S')}] FAILED {benchmark}/{name}", flush=True)
            return "failed"
        if extending:
            # The shorter run's extras (e.g. a calibration) are not this run's.
            for stale in kept.glob("*.json"):
                stale.unlink()
        if after is not None:
            after(directory, kept)
        shutil.copy(directory / "config.json", kept / "config.json")
        (kept / "failed.json").unlink(missing_ok=True)
        # Last, so that a run counts as kept only when everything else is there.
        shutil.copy(directory / "metrics.json", kept / "metrics.json")
        print(f"[{time.strftime('%H:%M:%S')}] done {benchmark}/{name}", flush=True)
        return "done"
    finally:
        lock.unlink(missing_ok=True)


def _shorter(kept: Path, overrides: Dict) -> bool:
    config = json.loads((kept / "config.json").read_text())
    return config["trainer"]["num_epochs"] < overrides.get("trainer.num_epochs", 0)


def _prepare_extension(directory: Path, num_epochs: int) -> None:
    """Sets a finished run's serialization directory up for `--recover` with more epochs."""
    if not list(directory.glob("training_state_e*.th")):
        raise FileNotFoundError(
            f"Cannot extend {directory.name}: {directory} has no training checkpoint (runs/ is "
            "not kept; move its results away to train it again from the start)."
        )
    config_path = directory / "config.json"
    config = json.loads(config_path.read_text())
    config["trainer"]["num_epochs"] = num_epochs
    config_path.write_text(json.dumps(config, indent=4))
    (directory / "metrics.json").unlink(missing_ok=True)


def authors_sst_command(selection: float, epochs: int, save_path: str) -> List[str]:
    """The authors' `latent_rationale.sst.train` of a HardKuma model at a selection target, with
    their defaults (the paper's settings), on `$SST_TRAIN`'s directory and `$SST_EMBEDDINGS`
    (50d, lowercased); it runs in `ANCHORS`."""
    data = Path(os.environ["SST_TRAIN"]).parent
    command = [sys.executable, "-m", "latent_rationale.sst.train", "--model", "latent"]
    command += ["--selection", str(selection), "--num_iterations", str(-epochs)]
    command += ["--embed_size", "50", "--lower", "--data_dir", str(data)]
    command += ["--word_vectors", os.environ["SST_EMBEDDINGS"], "--save_path", save_path]
    return command


def ensure_archive(
    config: Path, directory: Path, overrides: Dict, env: Optional[Dict[str, str]] = None
) -> Path:
    """The run's `model.tar.gz`, trained first (one thread) where it is missing, e.g. on a new
    machine for a run whose results are kept but whose archive is not (`runs/` is not kept)."""
    archive = directory / "model.tar.gz"
    if archive.exists():
        return archive
    command = _train_command(config, directory, overrides)
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f"{directory.name}.log", "a") as log:
        subprocess.run(
            command,
            cwd=ROOT,
            env=_one_thread(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return archive


def rationales(
    archive: Path, data: str, metrics: Path, html: Optional[Path] = None, html_inputs: int = 100
) -> None:
    """`allennlp rationales` of an archive on a dataset-format file (one thread): its summary
    metrics to `metrics` and, with `html`, the report of the first `html_inputs` inputs."""
    metrics.parent.mkdir(parents=True, exist_ok=True)
    command = [ALLENNLP, "rationales", str(archive), data, "--use-dataset-reader"]
    command += ["--metrics", str(metrics)]
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        command += ["--html", str(html), "--html-inputs", str(html_inputs)]
    subprocess.run(command, cwd=ROOT, env=_one_thread(), check=True, capture_output=True)


def _train_command(config: Path, directory: Path, overrides: Dict) -> List[str]:
    """`allennlp train` of a run, with `--recover` where the run was started (callers do not
    train a run whose `metrics.json` is there)."""
    command = [ALLENNLP, "train", str(config), "-s", str(directory), "-o", json.dumps(overrides)]
    if (directory / "config.json").exists():
        command.append("--recover")
    return command


def _one_thread(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **(extra or {}))


def evaluate(archive: Path, data: str, overrides: Dict, cuda_device: int = -1) -> Dict:
    """`allennlp evaluate` of an archive with config overrides; the metrics."""
    output = archive.parent / f"evaluate_{abs(hash(json.dumps(overrides, sort_keys=True)))}.json"
    command = [ALLENNLP, "evaluate", str(archive), data, "--output-file", str(output)]
    command += ["-o", json.dumps(overrides), "--cuda-device", str(cuda_device)]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return json.loads(output.read_text())


def write_text(path: Path, text: str) -> None:
    """Writes `path` through a temporary file in the same folder and a rename, so that a reader
    (or an interrupted run) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def replace_section(path: Path, marker: str, text: str) -> None:
    """Replaces what lies between `<!-- marker:start -->` and `<!-- marker:end -->` in `path`."""
    content = path.read_text()
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start not in content or end not in content:
        raise ValueError(f"{path} has no {start} ... {end} section")
    before, rest = content.split(start, 1)
    _, after = rest.split(end, 1)
    write_text(path, f"{before}{start}\n{text.rstrip()}\n{end}{after}")


def write_section(page: str, marker: str, text: str, root: Path = ROOT) -> None:
    """Replaces the generated section `marker` of the results page `docs/results/<page>.md` under
    `root` (the project, or a copy of its pages that `benchmarks.render` checks)."""
    replace_section(root / DOCS / f"{page}.md", marker, text)


def plan_names(plan: List[Dict]) -> List[str]:
    return [spec["name"] for spec in plan]
