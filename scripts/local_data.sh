# Point the experiments at the data in ../shared/data (source this file from the project root):
#   source scripts/local_data.sh
# GloVe 6B 50d subsets (lowercased) stand in for the paper's GloVe 840B 300d.
_shared="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../shared/data" && pwd)"
export SST_TRAIN="$_shared/sst/train.txt" SST_DEV="$_shared/sst/dev.txt" SST_TEST="$_shared/sst/test.txt"
export SST_EMBEDDINGS="$_shared/glove/glove.6B.50d.sst.txt"
export SNLI_TRAIN="$_shared/snli/train.jsonl" SNLI_DEV="$_shared/snli/dev.jsonl"
export SNLI_TEST="$_shared/snli/test.jsonl"
export SNLI_EMBEDDINGS="$_shared/glove/glove.6B.50d.snli_devtest.txt"
export EMBEDDING_DIM=50 LOWERCASE=true
unset _shared
