"""
One BeerAdvocate training step of our model against the paper authors' code (issue 10): the
paper's dependent HardKuma model over bidirectional RCNNs (hidden size 200), on the same batch.

    .venv/bin/python -m benchmarks.beer_speed [--reviews 256] [--max-length 256] [--repeats 2]
    .venv/bin/python -m benchmarks.beer_speed --summarize-only   # the table from the kept record

The batch is, for each of `--data` (default all three): `real`, the first `--reviews` reviews of
the real aspect-0 training file (the folder of `benchmarks.beer_real`: `$BEER_REAL_DIR`, else
`../shared/data/beer`) with its vectors; `synthetic`, the first `--reviews` reviews of
the synthetic Beer training file of aspect 0 (`scripts/make_synthetic_beer.py --seed 1`: realistic
vocabulary and lengths) with its 50d vectors; `random`, random words (lengths uniform in 100-300
tokens) with random 50d vectors. Reviews are truncated to `--max-length` as both training
scripts do. Then, each in a fresh process with one thread, alternating between
repeats:

- ours: `training_config/beer_hardkuma.jsonnet`'s model, built by AllenNLP from the config
  (aspect 0), its `lagrangian` callback attached, the batch read by our `beer_advocate` reader,
  Adam; a step is forward, backward, gradient clipping, optimizer step and multiplier update;
- theirs: `latent_rationale.beer.models.model_helpers.build_model("latent", ...)` with the
  settings of `../shared/anchors/README.md` (dependent z, RCNN, hidden 200, selection 0.13,
  lasso 0.02) and the step of their `beer/train.py` (`prepare_minibatch`, `get_loss`, clipping,
  Adam), from `../shared/anchors/interpretable_predictions` (or `$ANCHORS_DIR`).

Each process times `--steps` steps and reports the mean of all but the first. The result is the
ratio of the medians over repeats (theirs / ours: above 1 means ours is faster). The
measurement is kept in `results/beer_speed/speed.json` (`--summarize-only` renders it again); the
table is the `beer-speed` section of `docs/results/beer_speed.md`. `--device cuda` times both on a
GPU and keeps `results/beer_speed/speed_cuda.json` (the `beer-speed-cuda` section, once the page
has one).
"""

import argparse
import gzip
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

from benchmarks.results_store import ANCHORS, RESULTS, ROOT, write_section, write_text

RESULT = RESULTS / "beer_speed"

OURS = r"""
import json, os, resource, sys, time, torch
from allennlp.common import Params
from allennlp.data import Batch, Vocabulary
from allennlp.models import Model
from allennlp.nn.util import move_to_device
from allennlp.training.callbacks.callback import TrainerCallback
import hardkuma_allennlp  # noqa: F401
from hardkuma_allennlp.dataset_readers.beer import BeerAdvocateDatasetReader
data, steps, max_length, device = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.manual_seed(0)
config = Params.from_file(os.path.join(sys.argv[5], "training_config", "beer_hardkuma.jsonnet"))
reader = BeerAdvocateDatasetReader(aspect=0, max_length=max_length)
instances = list(reader.read(os.path.join(data, "reviews.aspect0.train.txt.gz")))
vocab = Vocabulary.from_instances(instances)
model = Model.from_params(vocab=vocab, params=config.pop("model")).to(device)
trainer = config.pop("trainer")
callback_params = trainer.pop("callbacks")[0]
callback = TrainerCallback.from_params(callback_params, serialization_dir=data)
# One epoch of 9k reviews in batches of 256: what the constraint's schedule in epochs is scaled by.
callback.attach(model, steps_per_epoch=36)
parameters = [p for p in model.parameters() if p.requires_grad]
optimizer_params = trainer.pop("optimizer")
optimizer = torch.optim.Adam(
    parameters, lr=optimizer_params.pop("lr"), weight_decay=optimizer_params.pop("weight_decay")
)
batch = Batch(instances)
batch.index_instances(vocab)
tensors = move_to_device(batch.as_tensor_dict(), torch.device(device))
times, user, kernel = [], [], []
for step in range(steps):
    if device == "cuda":
        torch.cuda.synchronize()
    start, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    model.train()
    optimizer.zero_grad()
    loss = model(**tensors)["loss"]
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, 5.0)
    optimizer.step()
    callback.update(callback._pending)
    callback._pending = []
    if device == "cuda":
        torch.cuda.synchronize()
    times.append(time.perf_counter() - start)
    end = resource.getrusage(resource.RUSAGE_SELF)
    user.append(end.ru_utime - cpu.ru_utime)
    kernel.append(end.ru_stime - cpu.ru_stime)
print(json.dumps({"times": times, "user": user, "kernel": kernel, "loss": float(loss)}))
"""

THEIRS = r"""
import json, resource, sys, time, torch
from latent_rationale.beer.models.model_helpers import build_model
from latent_rationale.beer.util import beer_reader, initialize_model_, load_embeddings
from latent_rationale.beer.util import prepare_minibatch
from latent_rationale.beer.vocabulary import Vocabulary
data, steps, max_length, device = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.manual_seed(0)
examples = list(beer_reader(data + "/reviews.aspect0.train.txt.gz", aspect=0, max_len=max_length))
vocab = Vocabulary()
vectors = load_embeddings(data + "/vectors.txt.gz", vocab, dim=50)
cfg = dict(aspect=0, emb_size=50, hidden_size=200, dropout=0.2, layer="rcnn", dependent_z=True,
           selection=0.13, lasso=0.02, lagrange_alpha=0.5, lagrange_lr=0.05, lambda_init=1e-5,
           lambda_min=1e-12, lambda_max=5.0)
model = build_model("latent", vocab, cfg)
initialize_model_(model)
with torch.no_grad():
    model.embed.weight.data.copy_(torch.from_numpy(vectors))
model.embed.weight.requires_grad = False
model = model.to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=4e-4, weight_decay=2e-6)
x, targets, _ = prepare_minibatch(examples, model.vocab, device=device)
times, user, kernel = [], [], []
for step in range(steps):
    if device == "cuda":
        torch.cuda.synchronize()
    start, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    model.train()
    output = model(x)
    loss, _ = model.get_loss(output, targets, mask=(x != 1))
    model.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
    optimizer.step()
    if device == "cuda":
        torch.cuda.synchronize()
    times.append(time.perf_counter() - start)
    end = resource.getrusage(resource.RUSAGE_SELF)
    user.append(end.ru_utime - cpu.ru_utime)
    kernel.append(end.ru_stime - cpu.ru_stime)
print(json.dumps({"times": times, "user": user, "kernel": kernel, "loss": float(loss)}))
"""


def write_random(directory: Path, reviews: int, seed: int = 0) -> None:
    """Random words (lengths uniform in 100-300 tokens) and random 50d vectors."""
    generator = random.Random(seed)
    words = [f"w{i}" for i in range(5000)]
    with gzip.open(directory / "reviews.aspect0.train.txt.gz", "wt", encoding="utf-8") as out:
        for _ in range(reviews):
            scores = " ".join(f"{generator.randint(0, 10) / 10:.1f}" for _ in range(5))
            tokens = " ".join(generator.choices(words, k=generator.randint(100, 300)))
            out.write(f"{scores}\t{tokens}\n")
    with gzip.open(directory / "vectors.txt.gz", "wt", encoding="utf-8") as out:
        for word in words:
            out.write(word + " " + " ".join(f"{generator.gauss(0, 0.3):.4f}" for _ in range(50)))
            out.write("\n")


def write_synthetic(directory: Path, reviews: int) -> None:
    """The first reviews of the synthetic Beer training file of aspect 0 (realistic vocabulary
    and lengths; `scripts/make_synthetic_beer.py --seed 1`) and its 50d vectors."""
    source = ROOT / "runs" / "beer_synthetic" / "data"
    if not (source / "annotations.json").exists():
        script = ROOT / "scripts" / "make_synthetic_beer.py"
        command = [sys.executable, str(script), "--output", str(source), "--seed", "1"]
        subprocess.run(command, check=True)
    with gzip.open(source / "reviews.aspect0.train.txt.gz", "rt", encoding="utf-8") as handle:
        lines = [line for _, line in zip(range(reviews), handle)]
    with gzip.open(directory / "reviews.aspect0.train.txt.gz", "wt", encoding="utf-8") as out:
        out.writelines(lines)
    shutil.copy(source / "review+wiki.filtered.50.txt.gz", directory / "vectors.txt.gz")


def write_real(directory: Path, reviews: int) -> None:
    """The first reviews of the real aspect-0 training file and its vectors, from the folder of
    `benchmarks.beer_real` (`$BEER_REAL_DIR`, else `../shared/data/beer`)."""
    from benchmarks.beer_real import data_files, default_data

    files = data_files(default_data(), 0)
    with gzip.open(files["train"], "rt", encoding="utf-8") as handle:
        lines = [line for _, line in zip(range(reviews), handle)]
    with gzip.open(directory / "reviews.aspect0.train.txt.gz", "wt", encoding="utf-8") as out:
        out.writelines(lines)
    os.symlink(files["embeddings"].resolve(), directory / "vectors.txt.gz")


DATA = {"real": write_real, "synthetic": write_synthetic, "random": write_random}


def run(name: str, data: Path, args) -> Dict[str, float]:
    code, cwd = (OURS, ROOT) if name == "ours" else (THEIRS, ANCHORS)
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        BEER_DATA_DIR=str(data),
        BEER_EMBEDDINGS=str(data / "vectors.txt.gz"),
        BEER_EMBEDDING_DIM="50",
        BEER_ASPECT="0",
    )
    command = [sys.executable, "-W", "ignore", "-c", code, str(data), str(args.steps)]
    command += [str(args.max_length), args.device, str(ROOT)]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{result.stderr[-3000:]}")
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    # Means of all steps but the first: wall, user CPU and kernel CPU seconds.
    return {key: statistics.mean(measured[key][1:]) for key in ("times", "user", "kernel")}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reviews", type=int, default=256)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-readme", action="store_true", help="print only, keep nothing")
    parser.add_argument("--data", nargs="+", choices=sorted(DATA), default=list(DATA))
    parser.add_argument("--summarize-only", action="store_true", help="render the kept result")
    parser.add_argument("--note", default="", help="a sentence on the conditions, kept with it")
    args = parser.parse_args()
    if args.summarize_only:
        print(write_docs())
        return
    measurements = {}
    for kind in args.data:
        runs: Dict[str, List[Dict[str, float]]] = {"ours": [], "theirs": []}
        with tempfile.TemporaryDirectory() as directory:
            data = Path(directory)
            DATA[kind](data, args.reviews)
            for repeat in range(args.repeats):
                order = ["ours", "theirs"] if repeat % 2 == 0 else ["theirs", "ours"]
                for name in order:
                    runs[name].append(run(name, data, args))
                    print(f"{kind} {name}: {runs[name][-1]['times']:.2f} s/step", flush=True)
        measurements[kind] = runs
    record = {
        "command": " ".join(["benchmarks.beer_speed", *sys.argv[1:]]),
        "machine": f"{platform.machine()} CPU, one thread" if args.device == "cpu" else args.device,
        "reviews": args.reviews,
        "max_length": args.max_length,
        "steps": args.steps,
        "repeats": args.repeats,
        "measurements": measurements,
        "note": args.note,
    }
    text = render(record)
    print(text)
    if not args.no_readme:
        suffix = "" if args.device == "cpu" else f"_{args.device}"
        write_text(RESULT / f"speed{suffix}.json", json.dumps(record, indent=2) + "\n")
        marker = "beer-speed" if args.device == "cpu" else f"beer-speed-{args.device}"
        write_section("beer_speed", marker, text)
        from benchmarks.render import write_readme

        write_readme()


def write_docs(root: Path = ROOT) -> str:
    """The `beer-speed` section of `docs/results/beer_speed.md`, from the kept CPU record."""
    text = render(json.loads((RESULT / "speed.json").read_text()))
    write_section("beer_speed", "beer-speed", text, root)
    return text


def render(record: Dict) -> str:
    """The speed table of a kept measurement (`results/beer_speed/speed*.json`)."""
    lines = [
        f"| Beer training step, {record['reviews']} reviews, <= {record['max_length']} tokens "
        "| seconds per step (each repeat) | CPU seconds per step, user / kernel (median) "
        "| speed-up |",
        "|---|---|---|---|",
    ]
    for kind, runs in record["measurements"].items():
        times = {name: [r["times"] for r in measured] for name, measured in runs.items()}
        ratio = statistics.median(times["theirs"]) / statistics.median(times["ours"])
        for name, label in (("ours", "ours (`beer_hardkuma.jsonnet`)"), ("theirs", "authors")):
            user = statistics.median(r["user"] for r in runs[name])
            kernel = statistics.median(r["kernel"] for r in runs[name])
            cell = f"**{ratio:.2f}x**" if name == "ours" else ""
            lines.append(
                f"| {label}, {kind} reviews | {', '.join(f'{t:.2f}' for t in times[name])} "
                f"| {user:.2f} / {kernel:.2f} | {cell} |"
            )
    # The recorded command's arguments (the script's name is recorded as it was run).
    arguments = "".join(f" {a}" for a in record["command"].split()[1:])
    lines += [
        "",
        f"Speed-up: authors / ours, ratio of the median step times; {record['machine']}, mean of "
        f"steps 2-{record['steps']} in fresh processes, {record['repeats']} alternating repeats: "
        f"`python -m benchmarks.beer_speed{arguments}`. Real reviews: the first "
        f"{record['reviews']} of the real aspect-0 training file (`$BEER_REAL_DIR`, about half "
        "of a batch's positions are padding); synthetic: the first of `make_synthetic_beer.py "
        "--seed 1`, aspect 0; random: random words and vectors."
        + (f" {record['note']}" if record.get("note") else ""),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
