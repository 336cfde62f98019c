// Full-text baseline: the same BiLSTM classifier as sst_hardkuma.jsonnet, reading every token.
local sst = import 'common/sst.libsonnet';

sst.experiment(encoder=sst.bilstm_seq2vec)
