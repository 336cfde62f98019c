// The paper's HardKuma BeerAdvocate model (section 6.1): dependent HardKuma gates (eq. 16) over a
// bidirectional RCNN, an RCNN regressor that reads the selected words only (skipping the others,
// as the authors' RCNN does), and the Lagrangian constraint holding the expected selection rate at
// the paper's target for the aspect (BEER_ASPECT), its target annealed over the first 5 epochs.
local beer = import 'common/beer.libsonnet';

beer.experiment(
  encoder={
    type: 'latent_rationale',
    gate: { type: 'hardkuma_dependent', encoder: beer.rcnn_seq2seq, hidden_size: 30 },
    encoder: beer.rcnn_seq2vec,
    skip_unselected: true,
  },
  callbacks=[beer.lagrangian],
)
