// Shared settings of the SNLI experiments: Bastings et al. (2019), section 6.3 and appendix B.3,
// after Parikh et al. (2016): frozen pretrained word vectors projected to 200 dimensions,
// feed-forward networks of 200 hidden units with dropout 0.2, Adam (lr 1e-4), batches of 64.
// Data and word vectors come from environment variables (defaults: hardkuma_allennlp/environment.py;
// local copies: `source scripts/local_data.sh`). Each experiment file says only what differs: the
// model type, its attention, and the trainer callbacks.
local embedding_dim = std.parseInt(std.extVar('EMBEDDING_DIM'));
local projection_dim = 200;
local hidden = 200;
local dropout = 0.2;

local feedforward(input_dim, num_layers=2, dropout_rate=dropout) = {
  input_dim: input_dim,
  num_layers: num_layers,
  hidden_dims: hidden,
  activations: 'relu',
  dropout: dropout_rate,
};

{
  hidden:: hidden,
  projection_dim:: projection_dim,
  feedforward:: feedforward,

  experiment(model_type, matrix_attention, callbacks=[], attend_dropout=dropout):: {
    dataset_reader: {
      type: 'hardkuma_snli',
      // Lowercase the indexed tokens for lowercased vectors (GloVe 6B); the metadata keeps the
      // original text for display.
      token_indexers: {
        tokens: { type: 'single_id', lowercase_tokens: std.extVar('LOWERCASE') == 'true' },
      },
    },
    train_data_path: std.extVar('SNLI_TRAIN'),
    validation_data_path: std.extVar('SNLI_DEV'),
    test_data_path: std.extVar('SNLI_TEST'),
    evaluate_on_test: true,
    model: {
      type: model_type,
      text_field_embedder: {
        token_embedders: {
          tokens: {
            type: 'embedding',
            embedding_dim: embedding_dim,
            pretrained_file: std.extVar('SNLI_EMBEDDINGS'),
            trainable: false,
            projection_dim: projection_dim,
          },
        },
      },
      // F (attend), G (compare) and H (aggregate) of Parikh et al. (2016).
      attend_feedforward: feedforward(projection_dim, dropout_rate=attend_dropout),
      matrix_attention: matrix_attention,
      compare_feedforward: feedforward(2 * projection_dim),
      aggregate_feedforward: {
        input_dim: 2 * hidden,
        num_layers: 2,
        hidden_dims: [hidden, 3],
        activations: ['relu', 'linear'],
        dropout: [dropout, 0.0],
      },
      initializer: {
        regexes: [
          ['.*linear_layers.*weight', { type: 'xavier_uniform' }],
          ['.*token_embedder_tokens\\._projection.*weight', { type: 'xavier_uniform' }],
        ],
      },
    },
    data_loader: {
      batch_sampler: { type: 'bucket', batch_size: 64, sorting_keys: ['premise', 'hypothesis'] },
    },
    validation_data_loader: {
      batch_sampler: { type: 'bucket', batch_size: 256, sorting_keys: ['premise', 'hypothesis'] },
    },
    trainer: {
      optimizer: { type: 'adam', lr: 1e-4, weight_decay: 1e-6 },
      num_epochs: 30,
      grad_norm: 5.0,
      validation_metric: if std.length(callbacks) > 0
      then ['+accuracy', '-lagrangian_selection_miss'] else '+accuracy',
      cuda_device: std.parseInt(std.extVar('CUDA_DEVICE')),
      use_amp: std.extVar('USE_AMP') == 'true',
      // Checkpoints are complete or absent (a full disk leaves the previous one usable).
      checkpointer: { type: 'hardkuma_atomic' },
      callbacks: callbacks,
    },
  },
}
