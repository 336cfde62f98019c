"""
Where a trained HardKuma gate's shape parameters `a`, `b` lie on real inputs, and how many sit on
the `HardKumaShape` clamp (where they get no gradient).

    source scripts/local_data.sh
    .venv/bin/python -m benchmarks.diagnostics.gate_shapes \
        runs/sst/hardkuma_t0.3_s1/model.tar.gz "$SST_DEV"

Reads the first `--instances` instances of the data with the archive's dataset reader, runs the
model in evaluation mode and prints, for `a` and `b` over the valid tokens: the mean, the share
within 1 % of the lower clamp and at the upper clamp, and the 5/25/50/75/95 % quantiles.
"""

import argparse

import torch
from allennlp.data import Batch
from allennlp.models.archival import load_archive

import hardkuma_allennlp  # noqa: F401  (registers the plugin's classes)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("archive")
    parser.add_argument("data")
    parser.add_argument("--instances", type=int, default=1000)
    args = parser.parse_args()
    archive = load_archive(args.archive)
    model = archive.model.eval()
    instances = list(archive.dataset_reader.read(args.data))[: args.instances]
    layer = model._encoder.gate._shape
    seen = {}

    def keep(module, inputs, distribution):
        seen["a"], seen["b"] = distribution.a, distribution.b

    layer.register_forward_hook(keep)
    values = {"a": [], "b": []}
    with torch.no_grad():
        for start in range(0, len(instances), 100):
            batch = Batch(instances[start : start + 100])
            batch.index_instances(model.vocab)
            output = model(**batch.as_tensor_dict())
            for name in values:
                values[name].append(seen[name][output["mask"]])
    low, high = layer.shape.min_shape, layer.shape.max_shape
    quantiles = torch.tensor([0.05, 0.25, 0.5, 0.75, 0.95])
    print(f"{len(instances)} instances, clamp [{low:g}, {high:g}]")
    for name, parts in values.items():
        x = torch.cat(parts)
        on_low, on_high = (x <= low * 1.01).float().mean(), (x >= high).float().mean()
        print(
            f"{name}: mean {x.mean():.3f}, on the lower clamp {on_low:.3f},"
            f" on the upper {on_high:.3f}, quantiles "
            + " / ".join(f"{q:.3g}" for q in torch.quantile(x, quantiles).tolist())
        )


if __name__ == "__main__":
    main()
