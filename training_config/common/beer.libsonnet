// Shared settings of the BeerAdvocate experiments: Bastings et al. (2019), section 6.1 and
// appendix B.1, on the data of Lei et al. (2016). The data has no public source any more: point
// BEER_DATA_DIR at a directory with reviews.aspect{0,1,2}.{train,heldout}.txt.gz and
// annotations.json, and BEER_EMBEDDINGS at the word vectors (review+wiki.filtered.200.txt.gz);
// BEER_ASPECT selects the aspect (0 look, 1 smell, 2 palate).
local aspect = std.parseInt(std.extVar('BEER_ASPECT'));
local data_dir = std.extVar('BEER_DATA_DIR');
local embedding_dim = std.parseInt(std.extVar('BEER_EMBEDDING_DIM'));
local hidden = 200;
local rcnn = { type: 'rcnn', input_dim: embedding_dim, hidden_size: hidden, bidirectional: true };

{
  aspect:: aspect,
  embedding_dim:: embedding_dim,
  // The paper's selection targets: 13% for look, 7% for smell and palate.
  selection_target:: [0.13, 0.07, 0.07][aspect],

  // The constraint (section 3.3): the expected selection rate held at the aspect's target and
  // the transition rate at 2 %, from both sides, by dual ascent on the multipliers. The targets
  // start at the rates of the first batch and are annealed linearly to these values over the
  // first 5 epochs (a number of epochs, so the same on 9k and on 80k reviews), so that the
  // regressor learns from whole reviews while the gates close. The damping is 1, not the rule's
  // default 10: on real reviews a damping of 10 can hold the gates saturated open while the
  // target falls and then shut them all within one epoch, after which they regrow onto words
  // that are not about the aspect (docs/results/beer_real.md).
  lagrangian:: {
    type: 'lagrangian',
    selection: $.selection_target,
    transition: 0.02,
    anneal_epochs: 5,
    rule: { type: 'dual_ascent', damping: 1.0 },
  },

  // The paper authors' initialisation: Xavier-uniform matrices (an RCNN's three input
  // projections as one 3h x d matrix, as they store it), zero biases.
  authors_initializer:: {
    local bound_input = std.sqrt(6 / (embedding_dim + 3 * hidden)),
    local bound_recurrent = std.sqrt(6 / (2 * hidden)),
    regexes: [
      ['.*input_weight', { type: 'uniform', a: -bound_input, b: bound_input }],
      ['.*recurrent_weight', { type: 'uniform', a: -bound_recurrent, b: bound_recurrent }],
      ['.*_cell\\.weight_(ih|hh)', { type: 'xavier_uniform' }],
      ['.*_state_(input|recurrent)\\.weight', { type: 'xavier_uniform' }],
      ['.*(a_layer|b_layer|_output_layer)\\.weight', { type: 'xavier_uniform' }],
      ['.*bias.*', { type: 'zero' }],
    ],
  },

  rcnn_seq2seq:: rcnn,
  rcnn_seq2vec:: { type: 'pooled_seq2seq', encoder: rcnn, pooling: 'last' },

  experiment(encoder, callbacks=[], dropout=0.2):: {
    // The authors truncate training reviews to 256 tokens; evaluation reads them whole.
    dataset_reader: { type: 'beer_advocate', aspect: aspect, max_length: 256 },
    validation_dataset_reader: { type: 'beer_advocate', aspect: aspect },
    train_data_path: data_dir + '/reviews.aspect' + aspect + '.train.txt.gz',
    validation_data_path: data_dir + '/reviews.aspect' + aspect + '.heldout.txt.gz',
    // annotations.json: evaluate reports rationale precision, recall and F1 on it.
    test_data_path: data_dir + '/annotations.json',
    evaluate_on_test: true,
    model: {
      type: 'rationale_model',
      task: 'regression',
      num_targets: 1,
      text_field_embedder: {
        token_embedders: {
          tokens: {
            type: 'embedding',
            embedding_dim: embedding_dim,
            pretrained_file: std.extVar('BEER_EMBEDDINGS'),
            trainable: false,
          },
        },
      },
      encoder: encoder,
      dropout: dropout,
    },
    data_loader: { batch_size: 256, shuffle: true },
    trainer: {
      optimizer: { type: 'adam', lr: 4e-4, weight_decay: 1e-6 },
      num_epochs: 50,
      patience: 10,
      grad_norm: 5.0,
      // With a constraint, an epoch whose decoded selection misses the target is not the best one
      // for its MSE alone (see the SST configs).
      validation_metric: if std.length(callbacks) > 0 then ['-mse', '-lagrangian_selection_miss']
      else '-mse',
      cuda_device: std.parseInt(std.extVar('CUDA_DEVICE')),
      use_amp: std.extVar('USE_AMP') == 'true',
      // Checkpoints are complete or absent (a full disk leaves the previous one usable).
      checkpointer: { type: 'hardkuma_atomic' },
      callbacks: callbacks,
    },
  },
}
