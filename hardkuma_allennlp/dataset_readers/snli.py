import logging
from typing import Dict, Iterator, Optional, Tuple

from allennlp.data.dataset_readers.dataset_reader import DatasetReader
from allennlp.data.instance import Instance
from allennlp.data.token_indexers import TokenIndexer
from allennlp.data.tokenizers import Tokenizer
from allennlp_models.pair_classification.dataset_readers.snli import SnliReader

from hardkuma_allennlp.dataset_readers.lines import InputFormatError, data_file_lines, json_object
from hardkuma_allennlp.tokenizers.blank_spacy_tokenizer import BlankSpacyTokenizer

logger = logging.getLogger(__name__)

SNLI_LABELS = ("entailment", "contradiction", "neutral")
NO_GOLD_LABEL = "-"
REQUIRED_KEYS = ("sentence1", "sentence2", "gold_label")


@DatasetReader.register("hardkuma_snli")
class HardKumaSnliReader(SnliReader):
    """
    Reads SNLI pairs from JSON lines, for the natural language inference experiments of
    [Bastings et al. (2019)](https://arxiv.org/abs/1905.08160), section 6.3.

    Both the original SNLI 1.0 files (`snli_1.0_{train,dev,test}.jsonl`, whose lines also hold
    parses, `pairID`, `annotator_labels`, ...; those extra keys are ignored) and reduced files
    with only `sentence1`, `sentence2` and `gold_label` are accepted. Pairs whose gold label is
    `"-"` (no annotator majority) are skipped, and their number is logged once per file. Blank
    lines are ignored. A line that is not valid JSON, lacks one of the three keys or has an
    unknown label raises a `ValueError` naming the file and the line number.

    The instances are those of allennlp-models' `snli` reader, which this class extends: `premise`
    and `hypothesis` `TextField`s, a `label` `LabelField` and a `metadata` field with the
    `premise_tokens` and `hypothesis_tokens` strings, so they suit allennlp-models'
    `decomposable_attention` model as well as `hardkuma_decomposable_attention`. Unlike the `snli`
    reader, the default tokenizer needs no spaCy model download.

    Registered as a `DatasetReader` with name "hardkuma_snli".

    # Parameters

    tokenizer : `Tokenizer`, optional (default = `BlankSpacyTokenizer()`)
        Tokenizes both sentences. Lowercasing, where wanted (e.g. for lowercased GloVe vectors),
        is best done by the token indexer (`lowercase_tokens`), which keeps the original case in
        `metadata` for display.
    token_indexers : `Dict[str, TokenIndexer]`, optional
        Used for both sentences. Default: `{"tokens": SingleIdTokenIndexer()}`.
    combine_input_fields : `bool`, optional (default = `None`)
        As for the `snli` reader: `True` puts both sentences in one `tokens` field (the default
        for pretrained transformer tokenizers).
    collapse_labels : `bool`, optional (default = `False`)
        Collapse "neutral" and "contradiction" into "non-entailment".
    """

    def __init__(
        self,
        tokenizer: Optional[Tokenizer] = None,
        token_indexers: Optional[Dict[str, TokenIndexer]] = None,
        combine_input_fields: Optional[bool] = None,
        collapse_labels: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(
            tokenizer=tokenizer or BlankSpacyTokenizer(),
            token_indexers=token_indexers,
            combine_input_fields=combine_input_fields,
            collapse_labels=collapse_labels,
            **kwargs,
        )

    def _read(self, file_path: str) -> Iterator[Instance]:
        yielded = 0
        for premise, hypothesis, label in self.shard_iterable(self._read_pairs(file_path)):
            yielded += 1
            yield self.text_to_instance(premise, hypothesis, label)
        if yielded == 0 and self.get_distributed_info() is None and self.get_worker_info() is None:
            raise InputFormatError(
                f"{file_path}: no instance to read: the file has no pair with a gold label "
                f"(pairs labelled '{NO_GOLD_LABEL}' are skipped)"
            )

    def _read_pairs(self, file_path: str) -> Iterator[Tuple[str, str, str]]:
        """Yields `(premise, hypothesis, gold_label)` for every labelled pair of the file."""
        skipped = 0
        for line_number, line in data_file_lines(file_path):
            if not line.strip():
                continue
            where = f"{file_path}, line {line_number}"
            try:
                example = json_object(line)
            except ValueError as error:
                raise ValueError(f"{where}: {error}") from None
            missing = [key for key in REQUIRED_KEYS if key not in example]
            if missing:
                raise ValueError(
                    f"{where}: missing key(s) {', '.join(repr(k) for k in missing)} "
                    f"(an SNLI line needs {', '.join(REQUIRED_KEYS)})"
                )
            label = example["gold_label"]
            if label == NO_GOLD_LABEL:
                skipped += 1
                continue
            if label not in SNLI_LABELS:
                raise ValueError(
                    f"{where}: unknown gold_label {label!r} "
                    f"(expected one of {', '.join(SNLI_LABELS)} or '-')"
                )
            for key in ("sentence1", "sentence2"):
                if not isinstance(example[key], str):
                    raise ValueError(f"{where}: {key!r} is not a string")
                if not example[key].strip():
                    raise ValueError(f"{where}: {key!r} is empty (a pair needs two sentences)")
            yield example["sentence1"], example["sentence2"], label
        logger.info(
            "%s: skipped %d pair(s) without a gold label ('%s')", file_path, skipped, NO_GOLD_LABEL
        )
