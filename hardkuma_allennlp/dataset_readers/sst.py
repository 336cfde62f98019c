import itertools
import logging
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Tuple, TypeVar, Union

from allennlp.common.checks import ConfigurationError
from allennlp.data.dataset_readers.dataset_reader import DatasetReader
from allennlp.data.fields import Field, LabelField, MetadataField, TextField
from allennlp.data.instance import Instance
from allennlp.data.token_indexers import SingleIdTokenIndexer, TokenIndexer
from allennlp.data.tokenizers import Token, Tokenizer

from hardkuma_allennlp.dataset_readers.lines import InputFormatError, data_file_lines
from hardkuma_allennlp.tokenizers.blank_spacy_tokenizer import BlankSpacyTokenizer

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

GRANULARITIES = ("5-class", "3-class", "2-class")

# Penn Treebank escapes used in the SST leaves, and the characters they stand for.
PTB_ESCAPES = {
    "-LRB-": "(",
    "-RRB-": ")",
    "-LSB-": "[",
    "-RSB-": "]",
    "-LCB-": "{",
    "-RCB-": "}",
    "\\/": "/",
    "\\*": "*",
}
_PTB_ESCAPE_RE = re.compile("|".join(re.escape(escape) for escape in PTB_ESCAPES))
_NODE_LABEL_RE = re.compile(r"[^\s()]*")


def unescape_ptb(text: str) -> str:
    """Undoes the Penn Treebank escapes of `PTB_ESCAPES` (e.g. `-LRB-` -> `(`, `\\/` -> `/`)."""
    return _PTB_ESCAPE_RE.sub(lambda match: PTB_ESCAPES[match.group(0)], text)


class SstTreeError(ValueError):
    """A line of the treebank that is not a well-formed sentiment tree."""


@dataclass
class SstTree:
    """
    A node of a sentiment tree: an internal node has `children`; a leaf (a pre-terminal such as
    `(2 film)`) has a `word` (PTB escapes undone) and no children.
    """

    label: int
    children: List["SstTree"] = field(default_factory=list)
    word: Optional[str] = None

    def subtrees(self) -> Iterator["SstTree"]:
        """All nodes in pre-order, starting with this one and including the leaves."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def leaves(self) -> List["SstTree"]:
        """The leaf nodes, left to right."""
        return [node for node in self.subtrees() if node.word is not None]

    def tokens_and_labels(self) -> Tuple[List[str], List[int]]:
        """
        The tokens under this node with the sentiment label of the leaf each token comes from.
        A leaf whose word contains whitespace (e.g. `(2 8 1\\/2)`; in the SST release the space is
        a no-break space) gives one token per whitespace-separated part, each with the leaf's label.
        """
        tokens: List[str] = []
        labels: List[int] = []
        for leaf in self.leaves():
            parts = leaf.word.split()
            tokens.extend(parts)
            labels.extend([leaf.label] * len(parts))
        return tokens, labels


def parse_sst_tree(text: str) -> SstTree:
    """
    Parses one linearized sentiment tree, e.g. `(3 (2 It) (4 (3 lovely) (2 film)))`.

    Every node is `(LABEL CHILD ...)` or a leaf `(LABEL WORD)`, where `LABEL` is one of `0`-`4`
    and `WORD` is any text without parentheses (it may contain spaces). PTB escapes in words are
    undone. Raises `SstTreeError` (a `ValueError`) naming the 1-based column and what is wrong.
    """
    n = len(text)
    stack: List[SstTree] = []
    root: Optional[SstTree] = None

    def skip_whitespace(position: int) -> int:
        while position < n and text[position].isspace():
            position += 1
        return position

    def attach(node: SstTree) -> None:
        nonlocal root
        if stack:
            stack[-1].children.append(node)
        else:
            root = node

    i = skip_whitespace(0)
    if i == n:
        raise SstTreeError("empty tree")
    while True:
        i = skip_whitespace(i)
        if i == n:
            if stack:
                raise SstTreeError(
                    f"unbalanced parentheses: the line ends with {len(stack)} unclosed '('"
                )
            break
        char = text[i]
        if root is not None:
            if char == ")":
                raise SstTreeError(f"unbalanced parentheses: unexpected ')' at column {i + 1}")
            raise SstTreeError(f"unexpected text after the end of the tree at column {i + 1}")
        if char == "(":
            label_start = i + 1
            label_end = _NODE_LABEL_RE.match(text, label_start).end()
            label_text = text[label_start:label_end]
            if label_text not in ("0", "1", "2", "3", "4"):
                shown = repr(label_text) if label_text else "nothing"
                raise SstTreeError(
                    f"node label at column {label_start + 1} is {shown}, "
                    f"expected a sentiment label 0-4"
                )
            label = int(label_text)
            content_start = skip_whitespace(label_end)
            if content_start == label_end and content_start < n and text[content_start] != "(":
                raise SstTreeError(f"expected a space after the node label at column {label_end}")
            if content_start < n and text[content_start] == "(":
                stack.append(SstTree(label))
                i = content_start
                continue
            leaf_end = content_start
            while leaf_end < n and text[leaf_end] not in "()":
                leaf_end += 1
            if leaf_end == n:
                raise SstTreeError(
                    f"unbalanced parentheses: the leaf at column {i + 1} is not closed"
                )
            if text[leaf_end] == "(":
                raise SstTreeError(
                    f"unexpected '(' at column {leaf_end + 1} inside the leaf at column {i + 1}"
                )
            word = text[content_start:leaf_end].strip()
            if not word:
                raise SstTreeError(f"the node at column {i + 1} has neither a word nor children")
            attach(SstTree(label, word=unescape_ptb(word)))
            i = leaf_end + 1
        elif char == ")":
            if not stack:
                raise SstTreeError(f"unbalanced parentheses: unexpected ')' at column {i + 1}")
            attach(stack.pop())
            i += 1
        else:
            raise SstTreeError(
                f"unexpected text at column {i + 1} between the children of a node "
                f"(a word must be a leaf of its own, as in '(2 word)')"
            )
    assert root is not None
    return root


@DatasetReader.register("hardkuma_sst")
class SstTreeDatasetReader(DatasetReader):
    """
    Reads the Stanford Sentiment Treebank (Socher et al., 2013) in its PTB tree format
    (`train.txt`, `dev.txt`, `test.txt`: one tree per line, every node labelled with a sentiment
    0-4), for the SST experiments of Bastings, Aziz & Titov (2019),
    [Interpretable Neural Predictions with Differentiable Binary Variables]
    (https://arxiv.org/abs/1905.08160).

    Labels follow allennlp-models' `sst_tokens` reader: `"5-class"` keeps the labels `"0"`-`"4"`;
    `"3-class"` maps 0, 1 -> `"0"` (negative), 2 -> `"1"` (neutral), 3, 4 -> `"2"` (positive);
    `"2-class"` maps 0, 1 -> `"0"`, 3, 4 -> `"1"` and drops neutral (2) sentences.

    Tokens are the tree's leaves with the PTB escapes undone (`-LRB-` -> `(`, `-RRB-` -> `)`,
    `-LSB-` -> `[`, `-RSB-` -> `]`, `-LCB-` -> `{`, `-RCB-` -> `}`, `\\/` -> `/`, `\\*` -> `*`).
    A leaf whose word contains whitespace (the release has three, e.g. `(2 8 1\\/2)`, with a
    no-break space) is split into its whitespace-separated parts, each with the leaf's sentiment
    label, so that the tokens match what a whitespace or spaCy tokenizer gives for raw text at
    prediction time.

    Blank lines are skipped. A line that is not a well-formed tree (unbalanced parentheses, a node
    label that is not 0-4, text between the children of a node, a node without word or children)
    raises a `ValueError` naming the file, the 1-based line number and what is wrong.

    Lines are sharded across distributed processes and data-loader workers (each line goes to
    exactly one of them), and `max_instances` counts instances, not lines.

    Each instance has the fields:

    - `tokens`: a `TextField`;
    - `label`: a `LabelField` (only when a label is known);
    - `metadata`: a `MetadataField` with `"tokens"` (the token strings) and, when known (always for
      instances read from a treebank file), `"word_labels"`: the 0-4 sentiment label of the leaf
      each token comes from, one int per token (not mapped to the granularity).

    Registered as a `DatasetReader` with name "hardkuma_sst".

    # Parameters

    token_indexers : `Dict[str, TokenIndexer]`, optional
        How to index the tokens (default = `{"tokens": SingleIdTokenIndexer()}`).
    tokenizer : `Tokenizer`, optional (default = `BlankSpacyTokenizer()`, i.e. `spacy_blank`)
        Splits raw strings given to `text_to_instance` (the predictor's path). Trees read from a
        file are already tokenized and do not use it. The default is created on first use.
    granularity : `str`, optional (default = `"5-class"`)
        One of `"5-class"`, `"3-class"` or `"2-class"`.
    use_subtrees : `bool`, optional (default = `False`)
        Also yield every subtree as an instance (its tokens with its own label), in pre-order
        after the whole sentence, down to and including the single-word leaves; under `"2-class"`
        neutral subtrees are skipped. Nothing is deduplicated (phrases repeated across or within
        sentences appear as often as they occur). Meant for training data only: use a reader
        without it for validation and test data.
    lowercase : `bool`, optional (default = `False`)
        Lowercase every token (e.g. for lowercased GloVe vectors); this applies to raw strings given
        to `text_to_instance` too.
    **kwargs
        Passed to `DatasetReader` (e.g. `max_instances`).
    """

    def __init__(
        self,
        token_indexers: Optional[Dict[str, TokenIndexer]] = None,
        tokenizer: Optional[Tokenizer] = None,
        granularity: str = "5-class",
        use_subtrees: bool = False,
        lowercase: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(
            manual_distributed_sharding=True, manual_multiprocess_sharding=True, **kwargs
        )
        if granularity not in GRANULARITIES:
            raise ConfigurationError(
                f"granularity is {granularity!r}, but expected one of: {list(GRANULARITIES)}"
            )
        self._token_indexers = token_indexers or {"tokens": SingleIdTokenIndexer()}
        # A tokenizer for raw sentences (`text_to_instance`); AllenNLP's predictors read it too,
        # and build a spaCy model of their own (a download) where a reader has none.
        self._tokenizer = tokenizer or BlankSpacyTokenizer()
        self._granularity = granularity
        self._use_subtrees = use_subtrees
        self._lowercase = lowercase

    def _read(self, file_path) -> Iterable[Instance]:
        logger.info("Reading SST trees from %s", file_path)
        lines = data_file_lines(file_path)
        yielded = dropped = 0
        for line_number, line in self._shard_lines(lines):
            if not line.strip():
                continue
            try:
                tree = parse_sst_tree(line)
            except SstTreeError as error:
                raise SstTreeError(f"{file_path}, line {line_number}: {error}") from None
            nodes = tree.subtrees() if self._use_subtrees else [tree]
            for node in nodes:
                tokens, word_labels = node.tokens_and_labels()
                instance = self.text_to_instance(tokens, node.label, word_labels)
                if instance is not None:
                    yielded += 1
                    yield instance
                else:
                    dropped += 1
        if yielded == 0 and self.get_distributed_info() is None and self.get_worker_info() is None:
            why = (
                f"all {dropped} sentence(s) are neutral, which the {self._granularity} "
                "granularity drops"
                if dropped
                else "it has no tree"
            )
            raise InputFormatError(f"{file_path}: no instance to read: {why}")

    def _shard_lines(self, lines: Iterable[_T]) -> Iterator[_T]:
        # Like `DatasetReader.shard_iterable`, but without its cap of `max_instances` items: a line
        # gives zero (a neutral sentence under "2-class") or several (subtrees) instances, so the
        # cap must count instances, which `DatasetReader.read` does.
        sharded: Iterator[_T] = iter(lines)
        distributed_info = self.get_distributed_info()
        if distributed_info is not None:
            sharded = itertools.islice(
                sharded, distributed_info.global_rank, None, distributed_info.world_size
            )
        worker_info = self.get_worker_info()
        if worker_info is not None:
            sharded = itertools.islice(sharded, worker_info.id, None, worker_info.num_workers)
        return sharded

    def _map_label(self, sentiment: Union[int, str]) -> Optional[str]:
        """The label string for a 0-4 sentiment under the granularity; `None` to drop it."""
        if str(sentiment) not in ("0", "1", "2", "3", "4"):
            raise ValueError(f"sentiment label {sentiment!r} is not one of 0-4")
        value = int(sentiment)
        if self._granularity == "5-class":
            return str(value)
        if self._granularity == "3-class":
            return "0" if value < 2 else ("1" if value == 2 else "2")
        return "0" if value < 2 else (None if value == 2 else "1")

    def text_to_instance(  # type: ignore[override]
        self,
        sentence_or_tokens: Union[str, List[str], List[Token]],
        label: Optional[Union[int, str]] = None,
        word_labels: Optional[List[int]] = None,
    ) -> Optional[Instance]:
        """
        # Parameters

        sentence_or_tokens : `Union[str, List[str], List[Token]]`
            A raw sentence, split by the reader's tokenizer, or the tokens of a tree.
        label : `Union[int, str]`, optional (default = `None`)
            The sentence's 0-4 sentiment label (as in the treebank), mapped to the granularity.
        word_labels : `List[int]`, optional (default = `None`)
            The 0-4 sentiment label of each token's leaf, stored in the metadata.

        # Returns

        An `Instance` with `tokens`, `metadata` and (with a label) `label` fields, or `None` when
        the granularity is `"2-class"` and the label is neutral (2).
        """
        if isinstance(sentence_or_tokens, str):
            words = [token.text for token in self._tokenizer.tokenize(sentence_or_tokens)]
        else:
            words = [t.text if isinstance(t, Token) else t for t in sentence_or_tokens]
        if not words:
            raise ValueError(f"no tokens in {sentence_or_tokens!r}")
        if self._lowercase:
            words = [word.lower() for word in words]
        metadata: Dict[str, object] = {"tokens": words}
        if word_labels is not None:
            if len(word_labels) != len(words):
                raise ValueError(f"{len(word_labels)} word labels for {len(words)} tokens: {words}")
            if any(str(value) not in ("0", "1", "2", "3", "4") for value in word_labels):
                raise ValueError(f"word labels must be 0-4, got {list(word_labels)}")
            metadata["word_labels"] = [int(value) for value in word_labels]

        fields: Dict[str, Field] = {"tokens": TextField([Token(word) for word in words])}
        if label is not None:
            mapped = self._map_label(label)
            if mapped is None:
                return None
            fields["label"] = LabelField(mapped)
        fields["metadata"] = MetadataField(metadata)
        return Instance(fields)

    def apply_token_indexers(self, instance: Instance) -> None:
        instance.fields["tokens"].token_indexers = self._token_indexers  # type: ignore[attr-defined]
