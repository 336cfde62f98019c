# Point the experiments at the data in ../shared/data (source this file from the project root):
#   source scripts/local_data.sh
# or at another copy of the same layout (sst/, snli/, glove/):
#   SHARED_DATA_DIR=/path/to/data source scripts/local_data.sh
# GloVe 6B 50d subsets (lowercased) stand in for the paper's GloVe 840B 300d.
# When the folder or one of its files is missing, it says which on stderr, sets nothing and fails
# (status 1), so that a `source scripts/local_data.sh && ...` chain stops there.
_hk_root="$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
_hk_data="${SHARED_DATA_DIR:-$(dirname -- "$_hk_root")/shared/data}"
_hk_files="sst/train.txt sst/dev.txt sst/test.txt glove/glove.6B.50d.sst.txt snli/train.jsonl
snli/dev.jsonl snli/test.jsonl glove/glove.6B.50d.snli_devtest.txt"
_hk_missing=0
if [ ! -d "$_hk_data" ]; then
  echo "local_data.sh: the data folder $_hk_data does not exist: nothing was set." >&2
  echo "  Put the data there, or set SHARED_DATA_DIR to its folder (with sst/, snli/, glove/)." >&2
  _hk_missing=1
else
  _hk_data="$(CDPATH='' cd -- "$_hk_data" && pwd)"
  for _hk_file in $_hk_files; do
    if [ ! -f "$_hk_data/$_hk_file" ]; then
      if [ "$_hk_missing" = 0 ]; then
        echo "local_data.sh: missing in the data folder $_hk_data (nothing was set):" >&2
      fi
      echo "  $_hk_file" >&2
      _hk_missing=$((_hk_missing + 1))
    fi
  done
fi
if [ "$_hk_missing" != 0 ]; then
  unset _hk_root _hk_data _hk_files _hk_file _hk_missing
  # `return` when sourced; `exit` when run as `bash scripts/local_data.sh`.
  return 1 2>/dev/null || exit 1
fi
export SST_TRAIN="$_hk_data/sst/train.txt" SST_DEV="$_hk_data/sst/dev.txt"
export SST_TEST="$_hk_data/sst/test.txt"
export SST_EMBEDDINGS="$_hk_data/glove/glove.6B.50d.sst.txt"
export SNLI_TRAIN="$_hk_data/snli/train.jsonl" SNLI_DEV="$_hk_data/snli/dev.jsonl"
export SNLI_TEST="$_hk_data/snli/test.jsonl"
export SNLI_EMBEDDINGS="$_hk_data/glove/glove.6B.50d.snli_devtest.txt"
export EMBEDDING_DIM=50 LOWERCASE=true
unset _hk_root _hk_data _hk_files _hk_file _hk_missing
