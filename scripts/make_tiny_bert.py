"""
Writes fixtures/tiny_bert/: a tiny randomly initialised, uncased BERT (`BertModel`, 2 layers,
hidden size 16, 2 heads) with a WordPiece vocabulary made from the words of the SST fixtures, as a
standard Hugging Face model directory (`config.json`, `model.safetensors` and the tokenizer
files), so that tests of AllenNLP's `pretrained_transformer*` indexers and embedders run offline.

    python -m scripts.make_tiny_bert                      # rewrites the fixture
    python -m scripts.make_tiny_bert --output /tmp/bert  # somewhere else

The vocabulary holds BERT's special tokens, every character of the fixtures (as a word start and
as a `##` continuation), the pre-tokens of up to `--whole-word-length` characters as whole words,
and each longer one as two pieces (its first `--prefix-length` characters and the `##` rest), so
that the fixtures have words of one, two and several word pieces (`writer/director`, `1/2`). The
weights, biases included, are random (seeded), not pretrained: the model is for plumbing, not for
accuracy.
The output depends only on the input files, the arguments and the transformers version (same seed
-> same weights).
"""

import argparse
from pathlib import Path
from typing import Iterable, List, Optional

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INPUTS = [ROOT / "fixtures" / "sst" / f"{split}.txt" for split in ("train", "dev", "test")]
DEFAULT_OUTPUT = ROOT / "fixtures" / "tiny_bert"
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def pre_tokens(paths: Iterable[Path]) -> List[str]:
    """The sorted pre-tokens of the SST fixture words after BERT's uncased normalisation
    (lowercased, accents stripped) and punctuation split, as the tokenizer sees them."""
    from tokenizers import normalizers, pre_tokenizers

    from scripts.make_tiny_glove import vocabulary

    normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True)
    splitter = pre_tokenizers.BertPreTokenizer()
    pieces = set()
    for word in vocabulary(paths):
        normalized = normalizer.normalize_str(word)
        pieces.update(piece for piece, _ in splitter.pre_tokenize_str(normalized))
    return sorted(pieces)


def wordpiece_vocabulary(words: List[str], whole_word_length: int, prefix_length: int) -> List[str]:
    """BERT's special tokens, then the characters, then the word pieces, each once, in order."""
    characters = sorted({character for word in words for character in word})
    pieces: List[str] = []
    for word in words:
        if len(word) <= whole_word_length:
            pieces.append(word)
        else:
            pieces += [word[:prefix_length], "##" + word[prefix_length:]]
    entries = SPECIAL_TOKENS + characters + ["##" + c for c in characters] + pieces
    return list(dict.fromkeys(entries))


def write_model(output: Path, vocab: List[str], hidden: int, layers: int, seed: int) -> None:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    output.mkdir(parents=True, exist_ok=True)
    vocab_file = output / "vocab.txt"
    vocab_file.write_text("".join(entry + "\n" for entry in vocab), encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)
    tokenizer.model_max_length = 64
    tokenizer.save_pretrained(str(output))

    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=64,
        type_vocab_size=2,
    )
    torch.manual_seed(seed)
    model = BertModel(config)
    # BERT's initialisation zeroes every bias; random ones make a bias that a config's initializer
    # re-initialises (e.g. to zero) tell from the "pretrained" one in tests.
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("bias"):
                parameter.normal_(0.0, config.initializer_range)
    model.save_pretrained(str(output), safe_serialization=True)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("inputs", nargs="*", type=Path, default=DEFAULT_INPUTS)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--whole-word-length", type=int, default=6)
    parser.add_argument("--prefix-length", type=int, default=4)
    args = parser.parse_args(argv)

    vocab = wordpiece_vocabulary(
        pre_tokens(args.inputs), args.whole_word_length, args.prefix_length
    )
    write_model(args.output, vocab, args.hidden, args.layers, args.seed)
    size = sum(path.stat().st_size for path in args.output.iterdir())
    print(
        f"{args.output}: {len(vocab)} word pieces, {args.layers} layers of {args.hidden}, {size} B"
    )


if __name__ == "__main__":
    main()
