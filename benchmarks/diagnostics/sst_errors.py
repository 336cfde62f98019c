"""
Where an SST model's errors go, and which words its rationales keep.

    source scripts/local_data.sh
    .venv/bin/python -m benchmarks.diagnostics.sst_errors \
        runs/sst/hardkuma_t0.3_s2/model.tar.gz "$SST_TEST"

Reads the data with the archive's dataset reader, runs the model in evaluation mode (decoding as
configured) and prints the confusion matrix (rows gold, columns predicted), the number of
predictions per class, and, for a model with gates, the share of all tokens selected and the share
of the occurrences of each of `--words` that are selected.
"""

import argparse
import collections

import torch
from allennlp.data import Batch
from allennlp.models.archival import load_archive

import hardkuma_allennlp  # noqa: F401  (registers the plugin's classes)

WORDS = "very really most so too ! great best good bad worst not n't but the a"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("archive")
    parser.add_argument("data")
    parser.add_argument("--words", default=WORDS, help="space-separated words to report on")
    args = parser.parse_args()
    archive = load_archive(args.archive)
    model = archive.model.eval()
    instances = list(archive.validation_dataset_reader.read(args.data))
    labels = model.vocab.get_index_to_token_vocabulary("labels")
    words = args.words.split()

    confusion: collections.Counter = collections.Counter()
    kept: collections.Counter = collections.Counter()
    seen: collections.Counter = collections.Counter()
    selected = total = 0
    for start in range(0, len(instances), 100):
        chunk = instances[start : start + 100]
        batch = Batch(chunk)
        batch.index_instances(model.vocab)
        tensors = batch.as_tensor_dict()
        with torch.no_grad():
            output = model(**tensors)
        predicted = output["logits"].argmax(-1).tolist()
        for gold, guess in zip(tensors["label"].tolist(), predicted):
            confusion[labels[gold], labels[guess]] += 1
        # Shape: (batch_size, seq_len); all ones for a model without gates
        z = output["z"]
        for row, instance in enumerate(chunk):
            for position, token in enumerate(instance["tokens"].tokens):
                on = bool(z[row, position] > 0)
                selected += on
                total += 1
                if token.text in words:
                    kept[token.text] += on
                    seen[token.text] += 1

    classes = sorted(set(labels.values()))
    print(f"{len(instances)} instances; rows gold, columns predicted: {' '.join(classes)}")
    for gold in classes:
        print(gold, [confusion[gold, guess] for guess in classes])
    print("predictions per class", [sum(confusion[g, guess] for g in classes) for guess in classes])
    print("correct per class", [confusion[c, c] for c in classes])
    print(f"selected: {selected / max(1, total):.3f} of {total} tokens")
    print(
        "selected share of each word (occurrences):",
        ", ".join(f"{w} {kept[w] / seen[w]:.2f} ({seen[w]})" for w in words if seen[w]),
    )


if __name__ == "__main__":
    main()
