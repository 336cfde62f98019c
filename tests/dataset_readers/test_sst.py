from pathlib import Path

import pytest
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader, Vocabulary
from allennlp.data.dataset_readers.dataset_reader import WorkerInfo
from nltk.tree import Tree

from hardkuma_allennlp.dataset_readers.sst import SstTreeDatasetReader, parse_sst_tree
from hardkuma_allennlp.tokenizers.blank_spacy_tokenizer import BlankSpacyTokenizer

ROOT = Path(__file__).resolve().parents[2]
SST = ROOT / "fixtures" / "sst"
TRAIN, DEV, TEST = SST / "train.txt", SST / "dev.txt", SST / "test.txt"
GLOVE = ROOT / "fixtures" / "glove" / "tiny_glove.txt"

# The root labels of the fixture trees, line by line.
ROOT_LABELS = {
    TRAIN: [4, 0, 2, 1, 3, 4, 1, 2, 3, 0, 3, 1, 4, 2, 0, 3],
    DEV: [3, 1, 2, 4, 0, 2, 3, 1],
    TEST: [4, 0, 2, 3, 1, 2, 4, 0],
}


def tree_lines(path):
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read(path, **kwargs):
    return list(SstTreeDatasetReader(**kwargs).read(path))


def tokens_of(instance):
    return [token.text for token in instance["tokens"].tokens]


def labels_of(instances):
    return [instance["label"].label for instance in instances]


@pytest.mark.parametrize("path", [TRAIN, DEV, TEST], ids=lambda p: p.name)
def test_five_class_reads_one_instance_per_tree_with_its_root_label(path):
    instances = read(path)
    assert labels_of(instances) == [str(label) for label in ROOT_LABELS[path]]


def test_three_class_maps_like_sst_tokens():
    mapping = {0: "0", 1: "0", 2: "1", 3: "2", 4: "2"}
    instances = read(TRAIN, granularity="3-class")
    assert labels_of(instances) == [mapping[label] for label in ROOT_LABELS[TRAIN]]


@pytest.mark.parametrize("path", [TRAIN, DEV, TEST], ids=lambda p: p.name)
def test_two_class_drops_neutral_sentences(path):
    instances = read(path, granularity="2-class")
    kept = [label for label in ROOT_LABELS[path] if label != 2]
    assert labels_of(instances) == ["0" if label < 2 else "1" for label in kept]
    neutral_sentences = [
        parse_sst_tree(line).tokens_and_labels()[0]
        for line, label in zip(tree_lines(path), ROOT_LABELS[path])
        if label == 2
    ]
    assert neutral_sentences
    assert not any(tokens_of(instance) in neutral_sentences for instance in instances)


def test_labels_agree_with_the_allennlp_models_reader():
    from allennlp_models.classification.dataset_readers.stanford_sentiment_tree_bank import (
        StanfordSentimentTreeBankDatasetReader,
    )

    for granularity in ("5-class", "3-class", "2-class"):
        theirs = list(StanfordSentimentTreeBankDatasetReader(granularity=granularity).read(TEST))
        ours = read(TEST, granularity=granularity)
        assert labels_of(ours) == labels_of(theirs)


def test_subtrees_are_every_node_in_preorder_after_the_sentence(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("(3 (2 Not) (3 (3 bad) (2 .)))\n", encoding="utf-8")
    five = read(path, use_subtrees=True)
    assert [(tokens_of(i), i["label"].label) for i in five] == [
        (["Not", "bad", "."], "3"),
        (["Not"], "2"),
        (["bad", "."], "3"),
        (["bad"], "3"),
        (["."], "2"),
    ]
    assert [i["metadata"]["word_labels"] for i in five[:3]] == [[2, 3, 2], [2], [3, 2]]
    two = read(path, use_subtrees=True, granularity="2-class")
    assert [(tokens_of(i), i["label"].label) for i in two] == [
        (["Not", "bad", "."], "1"),
        (["bad", "."], "1"),
        (["bad"], "1"),
    ]


def test_subtree_counts_on_the_fixture_match_nltk():
    trees = [Tree.fromstring(line) for line in tree_lines(TRAIN)]
    nodes = [subtree.label() for tree in trees for subtree in tree.subtrees()]
    assert len(nodes) == 160
    assert len(read(TRAIN, use_subtrees=True)) == 160
    non_neutral = sum(label != "2" for label in nodes)
    assert len(read(TRAIN, use_subtrees=True, granularity="2-class")) == non_neutral
    assert len(read(TRAIN, use_subtrees=True, granularity="3-class")) == 160


def test_parser_agrees_with_nltk_on_labels_and_structure():
    for path in (TRAIN, DEV, TEST):
        for line in tree_lines(path):
            ours = [node.label for node in parse_sst_tree(line).subtrees()]
            theirs = [int(subtree.label()) for subtree in Tree.fromstring(line).subtrees()]
            assert ours == theirs, line


def test_ptb_escapes_are_undone():
    train = [tokens_of(i) for i in read(TRAIN)]
    test = [tokens_of(i) for i in read(TEST)]
    assert train[4] == ["The", "film", "(", "a", "remake", ")", "is", "charming", "."]
    assert train[5][1] == "writer/director"
    assert train[6][1] == "*"
    assert test[1] == ["The", "script", "[sic]", "is", "terrible", "."]
    assert test[2][:3] == ["{", "Title", "}"]
    assert "/" in test[3]
    everything = [t for tokens in train + test for t in tokens]
    assert not any("\\" in t or "-LRB-" in t or "-RRB-" in t for t in everything)


def test_leaf_with_a_space_becomes_one_token_per_part_with_the_leaf_label():
    fellini = read(TRAIN)[7]
    assert tokens_of(fellini) == ["Fellini", "'s", "8", "1/2", "."]
    assert fellini["metadata"]["word_labels"] == [2, 2, 2, 2, 2]
    # The dev fixture has a no-break space inside the leaf, as the real release does.
    assert "\u00a0" in DEV.read_text(encoding="utf-8")
    runs = read(DEV)[2]
    assert tokens_of(runs) == ["The", "film", "runs", "2", "1/2", "hours", "."]
    # The tokens are what the prediction-time tokenizer gives for the raw text.
    tokenizer = BlankSpacyTokenizer()
    assert [t.text for t in tokenizer.tokenize("Fellini's 8 1/2.")] == tokens_of(fellini)
    assert [t.text for t in tokenizer.tokenize("The film runs 2\u00a01/2 hours.")] == tokens_of(
        runs
    )


def test_leaf_split_keeps_a_non_neutral_leaf_label_on_every_part(tmp_path):
    path = tmp_path / "split.txt"
    path.write_text("(4 (2 A) (4 (4 sheer  delight) (2 .)))\n", encoding="utf-8")
    (instance,) = read(path)
    assert tokens_of(instance) == ["A", "sheer", "delight", "."]
    assert instance["metadata"]["word_labels"] == [2, 4, 4, 2]


def test_lowercase():
    cased = [tokens_of(i) for i in read(TRAIN)]
    lower = read(TRAIN, lowercase=True)
    assert [tokens_of(i) for i in lower] == [[t.lower() for t in ts] for ts in cased]
    assert tokens_of(lower[4])[:3] == ["the", "film", "("]
    assert tokens_of(lower[8])[:2] == ["a", "café"]
    assert [i["metadata"]["tokens"] for i in lower] == [tokens_of(i) for i in lower]


def test_word_labels_are_aligned_with_the_tokens():
    for path in (TRAIN, DEV, TEST):
        for instance in read(path, use_subtrees=True):
            tokens = tokens_of(instance)
            assert instance["metadata"]["tokens"] == tokens
            assert len(instance["metadata"]["word_labels"]) == len(tokens)
    test = read(TEST)
    assert tokens_of(test[0]) == ["A", "gorgeous", ",", "witty", ",", "seductive", "movie", "."]
    assert test[0]["metadata"]["word_labels"] == [2, 4, 2, 3, 2, 3, 2, 2]
    # Word labels stay 0-4 whatever the granularity.
    assert read(TEST, granularity="2-class")[0]["metadata"]["word_labels"] == [
        2, 4, 2, 3, 2, 3, 2, 2
    ]  # fmt: skip


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ("(3 (2 a) (3 good)", "unbalanced parentheses: the line ends with 1 unclosed '('"),
        ("(3 (2 a) (3 good)))", "unbalanced parentheses: unexpected ')' at column 19"),
        ("(3 (2 a) (5 good))", "node label at column 11 is '5', expected a sentiment label 0-4"),
        ("(x (2 a) (3 good))", "node label at column 2 is 'x'"),
        ("((2 a) (3 good))", "node label at column 2 is nothing"),
        ("(3 (2 a) good (3 film))", "unexpected text at column 10 between the children"),
        ("(3 (2 a) (3 ))", "neither a word nor children"),
        ("(3 (2 a) (3 good)) (2 .)", "unexpected text after the end of the tree at column 20"),
        ("(3 (2 a) (3 go(od)))", "unexpected '(' at column 15 inside the leaf"),
        ("(3 (2 a) (3 good", "the leaf at column 10 is not closed"),
    ],
)
def test_malformed_line_names_file_line_and_problem(tmp_path, bad_line, message):
    path = tmp_path / "bad.txt"
    path.write_text(f"(4 (2 a) (4 gem))\n\n{bad_line}\n(2 fine)\n", encoding="utf-8")
    with pytest.raises(ValueError) as error:
        read(path)
    text = str(error.value)
    assert text.startswith(f"{path}, line 3: ")
    assert message in text


def test_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "blanks.txt"
    path.write_text("\n(4 (2 a) (4 gem))\n\n   \n(0 (2 a) (0 dud))\r\n\n", encoding="utf-8")
    instances = read(path)
    assert [(tokens_of(i), i["label"].label) for i in instances] == [
        (["a", "gem"], "4"),
        (["a", "dud"], "0"),
    ]


def test_text_to_instance_from_a_raw_string_works_offline(monkeypatch):
    import spacy

    def no_model(*args, **kwargs):
        raise AssertionError("spacy.load must not be called")

    monkeypatch.setattr(spacy, "load", no_model)
    reader = SstTreeDatasetReader()
    instance = reader.text_to_instance("a gorgeous , witty , seductive movie .")
    assert tokens_of(instance) == ["a", "gorgeous", ",", "witty", ",", "seductive", "movie", "."]
    assert "label" not in instance.fields
    assert instance["metadata"].metadata == {"tokens": tokens_of(instance)}

    lower = SstTreeDatasetReader(lowercase=True).text_to_instance("A Gorgeous (Witty) Movie.", 4)
    assert tokens_of(lower) == ["a", "gorgeous", "(", "witty", ")", "movie", "."]
    assert lower["label"].label == "4"


def test_text_to_instance_from_tokens_and_labels():
    reader = SstTreeDatasetReader(granularity="2-class")
    instance = reader.text_to_instance(["Not", "bad"], "3", [2, 3])
    assert tokens_of(instance) == ["Not", "bad"]
    assert instance["label"].label == "1"
    assert instance["metadata"]["word_labels"] == [2, 3]
    assert reader.text_to_instance(["so", "so"], 2) is None
    with pytest.raises(ValueError, match="3 word labels for 2 tokens"):
        reader.text_to_instance(["Not", "bad"], 3, [2, 3, 2])
    with pytest.raises(ValueError, match="not one of 0-4"):
        reader.text_to_instance(["Not", "bad"], 7)
    with pytest.raises(ValueError, match="no tokens"):
        reader.text_to_instance("   ")


def test_unknown_granularity_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="granularity is '4-class'"):
        SstTreeDatasetReader(granularity="4-class")


def test_registered_and_built_from_params():
    reader = DatasetReader.from_params(
        Params({"type": "hardkuma_sst", "granularity": "2-class", "lowercase": True})
    )
    assert isinstance(reader, SstTreeDatasetReader)
    instances = list(reader.read(str(DEV)))
    assert len(instances) == 6
    assert all(t == t.lower() for i in instances for t in tokens_of(i))


def test_max_instances_counts_instances_not_lines():
    everything = read(TRAIN, granularity="2-class")
    first_five = read(TRAIN, granularity="2-class", max_instances=5)
    assert [tokens_of(i) for i in first_five] == [tokens_of(i) for i in everything[:5]]
    assert len(read(TRAIN, use_subtrees=True, max_instances=20)) == 20


def test_workers_share_the_lines_without_overlap():
    whole = [tokens_of(i) for i in read(TRAIN)]
    shards = []
    for worker in range(3):
        reader = SstTreeDatasetReader()
        reader._set_worker_info(WorkerInfo(num_workers=3, id=worker))
        shards.append([tokens_of(i) for i in reader.read(TRAIN)])
    assert [len(shard) for shard in shards] == [6, 5, 5]
    assert shards[1] == whole[1::3]
    assert sorted(t for shard in shards for t in shard) == sorted(whole)


def test_instances_index_into_tensors():
    instances = read(TRAIN, lowercase=True)
    vocab = Vocabulary.from_instances(instances)
    for instance in instances:
        instance.index_fields(vocab)
    tensors = instances[0].as_tensor_dict()
    assert tensors["tokens"]["tokens"]["tokens"].shape == (4,)
    assert vocab.get_token_from_index(int(tensors["label"]), "labels") == "4"


def _load_glove_script():
    from scripts import make_tiny_glove

    return make_tiny_glove


def test_tiny_glove_is_reproducible_and_covers_most_fixture_words(tmp_path):
    script = _load_glove_script()
    output = tmp_path / "glove.txt"
    script.main(["--output", str(output)])
    assert output.read_bytes() == GLOVE.read_bytes()

    vectors = {}
    for line in GLOVE.read_text(encoding="utf-8").splitlines():
        word, *values = line.split(" ")
        assert len(values) == 10
        vectors[word] = [float(value) for value in values]
    assert all(word == word.lower() for word in vectors)
    fixture_words = {
        t for path in (TRAIN, DEV, TEST) for i in read(path, lowercase=True) for t in tokens_of(i)
    }
    assert set(vectors) <= fixture_words
    assert 0.8 * len(fixture_words) <= len(vectors) < len(fixture_words)
