// The paper's HardKuma BeerAdvocate model (section 6.1): dependent HardKuma gates (eq. 16) over a
// bidirectional RCNN, an RCNN regressor that reads the selected words only (skipping the others,
// as the authors' RCNN does), and the Lagrangian constraint holding the expected selection rate at
// the paper's target for the aspect (BEER_ASPECT) from both sides, annealed over the first 5
// epochs, by dual ascent with a damping of 1 (common/beer.libsonnet says why). Trained as the
// paper authors' code trains it (their initialisation, an RCNN cell for the gates' state, shape
// parameters clamped at 1e-6, independent dropout masks for the gate and the regressor, weight
// decay 2e-6, the learning rate decayed by 0.97 an epoch), but with Adam at 4e-3: at the paper's
// 4e-4 the annealed target closes the gates before the regressor has learned anything on real
// reviews (docs/results/beer_real.md), and on synthetic ones the gates fill the target with
// sentiment words of other aspects' sentences (docs/results/beer_synthetic.md).
local beer = import 'common/beer.libsonnet';

beer.experiment(
  encoder={
    type: 'latent_rationale',
    gate: {
      type: 'hardkuma_dependent',
      encoder: beer.rcnn_seq2seq,
      hidden_size: 30,
      // The state over the assigned gates is a bigram RCNN cell, as in the authors' code with an
      // RCNN encoder (an LSTM cell learns more slowly once the gates close).
      state_cell: 'rcnn',
      shape: { min_shape: 1e-6 },
    },
    encoder: beer.rcnn_seq2vec,
    skip_unselected: true,
    // Dropout on the gate's and the regressor's inputs with independent masks, as the authors'
    // two embedding dropouts, instead of one shared mask on the embeddings.
    dropout: 0.2,
  },
  callbacks=[beer.lagrangian],
) + {
  model+: { initializer: beer.authors_initializer, embedding_dropout: 0.0 },
  trainer+: {
    optimizer+: { lr: 4e-3, weight_decay: 2e-6 },
    learning_rate_scheduler: { type: 'exponential', gamma: 0.97 },
  },
}
