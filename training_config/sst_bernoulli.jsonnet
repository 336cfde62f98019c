// The Bernoulli baseline (Lei et al., 2016): binary gates trained with REINFORCE, with fixed
// weights on the number of selected tokens (sparsity) and of transitions (coherence = 2x).
local sst = import 'common/sst.libsonnet';

sst.experiment(
  encoder={
    type: 'latent_rationale',
    gate: { type: 'bernoulli', encoder: sst.bilstm_seq2seq, sparsity: 0.001, coherence: 0.002 },
    encoder: sst.bilstm_seq2vec,
  },
)
