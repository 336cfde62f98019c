// The Bernoulli baseline of Lei et al. (2016) on BeerAdvocate: binary gates over a bidirectional
// RCNN trained with REINFORCE; L0 weight in {2e-4, 3e-4, 4e-4} (override
// model.encoder.gate.sparsity) and coherence weight 2x.
local beer = import 'common/beer.libsonnet';

beer.experiment(
  encoder={
    type: 'latent_rationale',
    gate: { type: 'bernoulli', encoder: beer.rcnn_seq2seq, sparsity: 3e-4, coherence: 6e-4 },
    encoder: beer.rcnn_seq2vec,
    skip_unselected: true,
  },
)
