// sst_hardkuma.jsonnet with a CNN classifier encoder instead of the BiLSTM: swapped by config only.
local sst = import 'common/sst.libsonnet';
// The selection target: the test-time decoder keeps this share, the constraint holds it in training.
local selection = 0.3;

sst.experiment(
  encoder={
    type: 'latent_rationale',
    gate: {
      type: 'hardkuma',
      encoder: sst.bilstm_seq2seq,
      decoding: { type: 'top_k', share: selection },
    },
    encoder: {
      type: 'cnn',
      embedding_dim: sst.embedding_dim,
      num_filters: 100,
      ngram_filter_sizes: [3, 4, 5],
    },
  },
  callbacks=[sst.lagrangian(selection)],
)
