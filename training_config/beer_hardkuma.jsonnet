// The paper's HardKuma BeerAdvocate model (section 6.1): dependent HardKuma gates (eq. 16) over a
// bidirectional RCNN, an RCNN regressor over the gated embeddings, and the Lagrangian constraint
// holding the expected selection rate at the paper's target for the aspect (BEER_ASPECT).
local beer = import 'common/beer.libsonnet';

beer.experiment(
  encoder={
    type: 'latent_rationale',
    gate: { type: 'hardkuma_dependent', encoder: beer.rcnn_seq2seq, hidden_size: 30 },
    encoder: beer.rcnn_seq2vec,
  },
  callbacks=[{ type: 'lagrangian', selection: beer.selection_target, transition: 0.02 }],
)
