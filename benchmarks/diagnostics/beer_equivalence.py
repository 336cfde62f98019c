"""
Does our Beer model compute what the paper authors' does? Their `LatentRationaleModel` (dependent
HardKuma gates over an RCNN, an RCNN regressor that skips unselected words) is built from
`../shared/anchors` at its defaults and initialised by their code; ours is the model of
`training_config/beer_hardkuma.jsonnet` (the same modules, built in Python) with their weights
copied in. Both read the same real reviews (`../shared/data/beer`, or `--data`) through the
authors' vocabulary and vectors, and draw the same uniform noise for the HardKuma samples (in
their range, [0.001, 0.999]); dropout is off, so the two are deterministic functions.

1. One forward and backward pass on `--reviews` training reviews: the largest difference of the
   gates, of the predictions and of the MSE, and of the gradient of every parameter
   (each ours against its counterpart in their layout), relative to its norm.
2. `--steps` optimizer steps of both side by side, from the same weights, on the same batches of
   256 (Adam 4e-4, weight decay 2e-6, gradients clipped at norm 5), with the task loss alone
   (their multiplier starts at 1e-5 and stays negligible in these steps; ours has no
   constraint): the training selection, transition rate and MSE of each after every step.

The result is kept in `results/beer_real/equivalence.json`; `docs/results/beer_real.md` shows it.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.diagnostics.beer_equivalence
"""

import argparse
import json
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Dict, List

import numpy
import torch

from benchmarks.beer_real import default_data
from benchmarks.results_store import ANCHORS, ROOT, write_text
from hardkuma_allennlp.distributions import HardKumaraswamy
from hardkuma_allennlp.modules.gates.hardkuma_dependent_gate import DependentHardKumaGate
from hardkuma_allennlp.modules.hardkuma_shape import HardKumaShape
from hardkuma_allennlp.modules.seq2seq_encoders.rcnn import RCNN
from hardkuma_allennlp.modules.seq2vec_encoders.latent_rationale_encoder import (
    LatentRationaleEncoder,
)
from hardkuma_allennlp.modules.seq2vec_encoders.pooled_seq2seq_encoder import (
    PooledSeq2SeqEncoder,
)

RESULT = ROOT / "results" / "beer_real" / "equivalence.json"
HIDDEN, STATE, EMBEDDING = 200, 30, 50
NOISE = (0.001, 0.999)


def authors_model(data: Path):
    """The authors' `LatentRationaleModel` with their settings for Beer (dependent gates over
    RCNNs, selection 0.13, lasso 0.02), dropout off, initialised by their code with their
    vocabulary's vectors (frozen), and that vocabulary."""
    sys.path.insert(0, str(ANCHORS))
    from latent_rationale.beer.models.latent import LatentRationaleModel
    from latent_rationale.beer.util import initialize_model_, load_embeddings
    from latent_rationale.beer.vocabulary import Vocabulary

    vocabulary = Vocabulary()
    vectors = load_embeddings(
        str(data / "glove.6B.50d.beer_aspect0.txt.gz"), vocabulary, dim=EMBEDDING
    )
    model = LatentRationaleModel(
        vocab=vocabulary,
        vocab_size=len(vocabulary.w2i),
        emb_size=EMBEDDING,
        hidden_size=HIDDEN,
        output_size=1,
        dropout=0.0,
        layer="rcnn",
        dependent_z=True,
        selection=0.13,
        lasso=0.02,
        lambda_init=1e-5,
    )
    initialize_model_(model)
    with torch.no_grad():
        model.embed.weight.copy_(torch.from_numpy(vectors))
    model.embed.weight.requires_grad = False
    return model, vocabulary


def authors_side(data: Path):
    """The authors' model and vocabulary (`authors_model`), their training reviews and their
    batching and Kumaraswamy code."""
    model, vocabulary = authors_model(data)
    from latent_rationale.beer.util import beer_reader, prepare_minibatch
    from latent_rationale.nn import kuma

    reviews = list(beer_reader(str(data / "reviews.aspect0.train.txt.gz"), aspect=0, max_len=256))
    return model, vocabulary, reviews, prepare_minibatch, kuma.Kuma


def our_side():
    """Our model: the modules of `beer_hardkuma.jsonnet`, dropout off."""
    gate = DependentHardKumaGate(
        RCNN(EMBEDDING, HIDDEN, bidirectional=True),
        hidden_size=STATE,
        state_cell="rcnn",
        shape=HardKumaShape(min_shape=1e-6),
    )
    encoder = LatentRationaleEncoder(
        gate,
        PooledSeq2SeqEncoder(RCNN(EMBEDDING, HIDDEN, bidirectional=True), "last"),
        skip_unselected=True,
    )
    output = torch.nn.Linear(2 * HIDDEN, 1)
    return torch.nn.ModuleDict({"encoder": encoder, "output": output})


def counterparts(theirs, ours) -> List[tuple]:
    """(name, their tensor, our tensor, how ours stores it) for every trained weight; copying
    `their` into `ours` through these makes the two models the same function."""
    gate = ours["encoder"].gate
    pairs = []
    for side, rcnn, their_rcnn in (
        ("gate", gate._encoder, theirs.latent_model.enc_layer.rcnn),
        ("regressor", ours["encoder"]._encoder._encoder, theirs.classifier.enc_layer.rcnn),
    ):
        for direction, cell in enumerate((their_rcnn.cell, their_rcnn.cell_rev)):
            rows = slice(direction * 3 * HIDDEN, (direction + 1) * 3 * HIDDEN)
            pairs += [
                (f"{side} rcnn {direction} W", cell.ih_layer.weight, rcnn.input_weight, rows),
                (f"{side} rcnn {direction} U", cell.hh_layer.weight, rcnn.recurrent_weight,
                 (direction, "transposed")),
                (f"{side} rcnn {direction} b_l", cell.hh_layer.bias, rcnn.gate_bias, direction),
                (f"{side} rcnn {direction} b", cell.bias, rcnn.output_bias, direction),
            ]  # fmt: skip
    latent = theirs.latent_model
    pairs += [
        ("state cell W", latent.z_cell.ih_layer.weight, gate._state_input.weight, None),
        ("state cell U", latent.z_cell.hh_layer.weight, gate._state_recurrent.weight, None),
        ("state cell b_l", latent.z_cell.hh_layer.bias, gate._state_recurrent.bias, None),
        ("state cell b", latent.z_cell.bias, gate._state_bias, None),
        ("a layer W", latent.z_layer.layer_a[0].weight, gate._shape.a_layer.weight, None),
        ("a layer b", latent.z_layer.layer_a[0].bias, gate._shape.a_layer.bias, None),
        ("b layer W", latent.z_layer.layer_b[0].weight, gate._shape.b_layer.weight, None),
        ("b layer b", latent.z_layer.layer_b[0].bias, gate._shape.b_layer.bias, None),
        ("output W", theirs.classifier.output_layer[1].weight, ours["output"].weight, None),
        ("output b", theirs.classifier.output_layer[1].bias, ours["output"].bias, None),
    ]
    return pairs


def _view(tensor: torch.Tensor, where) -> torch.Tensor:
    if where is None:
        return tensor
    if isinstance(where, tuple):
        return tensor[where[0]].t()
    return tensor[where]


def copy_weights(pairs) -> None:
    with torch.no_grad():
        for _, theirs, ours, where in pairs:
            _view(ours, where).copy_(theirs)


class SharedNoise:
    """The same uniform draws for both sides: the authors' `Kuma.sample` and our `rsample` take
    the next one of a list (one per time step, shape (batch, 1))."""

    def __init__(self, kuma_class) -> None:
        self.theirs: List[torch.Tensor] = []
        self.ours: List[torch.Tensor] = []
        noise = self

        def their_sample(distribution, size=None):
            u = noise.theirs.pop(0)
            return (1.0 - (1.0 - u) ** distribution.b.reciprocal()) ** distribution.a.reciprocal()

        def our_rsample(distribution, sample_shape=torch.Size()):
            return distribution.rsample_from_uniform(noise.ours.pop(0).squeeze(-1))

        kuma_class.sample = their_sample
        HardKumaraswamy.rsample = our_rsample

    def draw(self, batch_size: int, steps: int) -> None:
        draws = [torch.empty(batch_size, 1).uniform_(*NOISE) for _ in range(steps)]
        self.theirs, self.ours = list(draws), list(draws)


def run_ours(ours, embeddings, x, targets):
    mask = x != 1
    encoding = ours["encoder"].encode_rationale(embeddings[x], mask)
    predictions = torch.sigmoid(ours["output"](encoding.vector))
    return encoding.z, predictions, ((predictions - targets) ** 2).mean()


def gate_statistics(z: torch.Tensor, mask: torch.Tensor) -> Dict[str, float]:
    selected = z > 0
    changes = selected[:, 1:] != selected[:, :-1]
    return {
        "selected": round(float(selected[mask].float().mean()), 4),
        "transitions": round(float(changes[mask[:, 1:]].float().mean()), 4),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--reviews", type=int, default=32)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    # Both sides train on the task loss alone here, on purpose.
    warnings.filterwarnings("ignore", message=".*training without a constraint")
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    numpy.random.seed(args.seed)
    random.seed(args.seed)

    theirs, vocabulary, reviews, minibatch, kuma_class = authors_side(args.data)
    ours = our_side()
    pairs = counterparts(theirs, ours)
    copy_weights(pairs)
    noise = SharedNoise(kuma_class)
    embeddings = theirs.embed.weight.detach()
    theirs.train()
    ours.train()

    # 1. One pass.
    x, targets, _ = minibatch(reviews[: args.reviews], vocabulary)
    noise.draw(x.size(0), x.size(1))
    their_predictions = theirs(x)
    their_mse = ((their_predictions - targets) ** 2).mean()
    their_mse.backward()
    their_z = theirs.latent_model.z.detach()
    our_z, our_predictions, our_mse = run_ours(ours, embeddings, x, targets)
    our_mse.backward()
    gradients = {}
    for name, their, our, where in pairs:
        difference = (_view(our.grad, where) - their.grad).norm() / their.grad.norm().clamp(
            min=1e-12
        )
        gradients[name] = float(difference)
    one_pass = {
        "reviews": args.reviews,
        "tokens": int((x != 1).sum()),
        "selected": gate_statistics(their_z, x != 1)["selected"],
        "max_gate_difference": float((their_z - our_z).abs().max()),
        "max_prediction_difference": float((their_predictions - our_predictions).abs().max()),
        "mse": [float(their_mse), float(our_mse)],
        "max_relative_gradient_difference": max(gradients.values()),
        "worst_gradient": max(gradients, key=gradients.get),
    }
    print(json.dumps(one_pass, indent=2), flush=True)

    # 2. Side by side.
    theirs.zero_grad()
    ours.zero_grad()
    copy_weights(pairs)
    their_parameters = [p for p in theirs.parameters() if p.requires_grad]
    our_parameters = list(ours.parameters())
    their_optimizer = torch.optim.Adam(their_parameters, lr=4e-4, weight_decay=2e-6)
    our_optimizer = torch.optim.Adam(our_parameters, lr=4e-4, weight_decay=2e-6)
    order = list(range(len(reviews)))
    random.shuffle(order)
    steps = []
    start = time.time()
    for step in range(args.steps):
        batch = [reviews[i] for i in order[step * 256 : (step + 1) * 256]]
        x, targets, _ = minibatch(batch, vocabulary)
        mask = x != 1
        noise.draw(x.size(0), x.size(1))
        loss, _ = theirs.get_loss(theirs(x), targets, mask=mask)
        their_optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(their_parameters, 5.0)
        their_optimizer.step()
        their_z = theirs.latent_model.z.detach()
        our_z, _, our_mse = run_ours(ours, embeddings, x, targets)
        our_optimizer.zero_grad()
        our_mse.backward()
        torch.nn.utils.clip_grad_norm_(our_parameters, 5.0)
        our_optimizer.step()
        record = {
            "step": step + 1,
            "authors": gate_statistics(their_z, mask),
            "ours": gate_statistics(our_z, mask),
            "max_gate_difference": float((their_z - our_z).abs().max()),
        }
        steps.append(record)
        print(json.dumps(record), flush=True)
    result = {
        "data": "real BeerAdvocate aspect 0 (../shared/data/beer), the authors' vocabulary",
        "seed": args.seed,
        "one_pass": one_pass,
        "side_by_side": steps,
        "seconds": round(time.time() - start, 1),
        "command": "OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.diagnostics."
        f"beer_equivalence --reviews {args.reviews} --steps {args.steps} --seed {args.seed}",
    }
    write_text(RESULT, json.dumps(result, indent=2) + "\n")
    print(f"kept {RESULT}")


if __name__ == "__main__":
    main()
