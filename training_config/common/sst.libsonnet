// Shared settings of the SST experiments: Bastings et al. (2019), section 6.2 and appendix B.2.
// Data and word vectors come from environment variables (see hardkuma_allennlp/environment.py
// for their defaults and the README for local copies). Each experiment file says only what
// differs: the encoder, and the trainer callbacks.
local embedding_dim = std.parseInt(std.extVar('EMBEDDING_DIM'));
local hidden = 150;

{
  hidden:: hidden,
  dropout:: 0.5,
  embedding_dim:: embedding_dim,

  // A BiLSTM reading the embedded tokens: the gate encoder (Seq2Seq) and the classifier (Seq2Vec,
  // the final states of both directions). `masked_lstm` is an exact BiLSTM that runs on the padded
  // batch without packing (faster on a CPU; AllenNLP's 'lstm' gives the same model, slower).
  bilstm_seq2seq:: {
    type: 'masked_lstm', input_size: embedding_dim, hidden_size: hidden, bidirectional: true,
  },
  bilstm_seq2vec:: { type: 'pooled_seq2seq', encoder: $.bilstm_seq2seq, pooling: 'last' },

  // The constraint: dual ascent on a target annealed from the gates' initial rate to `target`
  // over the first 3 epochs (342 batches of 25 an epoch), so the classifier learns from (nearly)
  // the whole text first and the selection narrows as the gates learn.
  lagrangian(target):: { type: 'lagrangian', selection: target, anneal_epochs: 3 },

  // The paper authors' constraint: a multiplier that starts at 1e-4 and grows geometrically on
  // a moving average of the violation (their `lambda_init` and `lagrange_alpha`; the rate is per
  // epoch, 0.01 a step times SST's 342 batches an epoch), on the fixed target. The gates stay open for 2-3 epochs, then close to about the target.
  multiplicative_lagrangian(target):: {
    type: 'lagrangian', selection: target, rule: { type: 'multiplicative', lr: 0.01 * 342 },
  },

  // The paper authors' initialisation: LSTM weights uniform within the Xavier bound of each
  // gate's own fan (sqrt(6 / (fan_in + hidden))), Xavier-uniform output layers, zero biases.
  // With PyTorch's defaults 91 % of the gates' training samples are exactly 1 after two epochs
  // without a constraint; with this, most are in the continuous part of (0, 1), as in the
  // authors' runs (README, "Differences from the authors' implementation").
  // The patterns are anchored at the model's own modules (`_encoder`, `_output_layer`), so that a
  // pretrained transformer under `_text_field_embedder` keeps its weights and biases
  // (sst_hardkuma_transformer.jsonnet); `input_dim` is the size of the embedded words.
  authors_initializer_for(input_dim):: {
    local bound_ih = std.sqrt(6 / (input_dim + hidden)),
    local bound_hh = std.sqrt(6 / (2 * hidden)),
    regexes: [
      ['^_encoder\\..*weight_ih.*', { type: 'uniform', a: -bound_ih, b: bound_ih }],
      ['^_encoder\\..*weight_hh.*', { type: 'uniform', a: -bound_hh, b: bound_hh }],
      ['^(_encoder\\..*(a_layer|b_layer)|_output_layer)\\.weight', { type: 'xavier_uniform' }],
      ['^(_encoder|_output_layer)\\..*bias.*', { type: 'zero' }],
    ],
  },
  authors_initializer:: $.authors_initializer_for(embedding_dim),

  experiment(encoder, callbacks=[]):: {
    dataset_reader: {
      type: 'hardkuma_sst',
      granularity: '5-class',
      lowercase: std.extVar('LOWERCASE') == 'true',
    },
    train_data_path: std.extVar('SST_TRAIN'),
    validation_data_path: std.extVar('SST_DEV'),
    test_data_path: std.extVar('SST_TEST'),
    evaluate_on_test: true,
    model: {
      type: 'rationale_model',
      text_field_embedder: {
        token_embedders: {
          tokens: {
            type: 'embedding',
            embedding_dim: embedding_dim,
            pretrained_file: std.extVar('SST_EMBEDDINGS'),
            trainable: false,
          },
        },
      },
      encoder: encoder,
      dropout: $.dropout,
    },
    // Batches of sentences of similar length (shuffled), so that little time goes into padding.
    data_loader: {
      batch_sampler: { type: 'bucket', batch_size: 25, sorting_keys: ['tokens'] },
    },
    validation_data_loader: { batch_size: 100, shuffle: false },
    // The paper authors' training protocol: all 25 epochs (no early stopping), the learning rate
    // halved when the dev loss has not improved for 5 epochs (cooldown 5, down to 1e-5), and the
    // best epoch chosen on the dev loss. With a constraint, the distance of the test-time
    // selection from the target (`lagrangian_selection_miss`) is added, so an epoch whose
    // selection misses the target is not picked for its loss alone.
    trainer: {
      optimizer: { type: 'adam', lr: 2e-4, weight_decay: 1e-5 },
      learning_rate_scheduler: {
        type: 'hardkuma_reduce_on_plateau',  // AllenNLP's 'reduce_on_plateau' fails on torch 2.x
        mode: 'max',  // of the validation metric below, which is higher-is-better
        factor: 0.5,
        patience: 5,
        cooldown: 5,
        threshold: 1e-4,
        min_lr: 1e-5,
      },
      num_epochs: 25,
      grad_norm: 5.0,
      validation_metric: if std.length(callbacks) > 0
      then ['-loss', '-lagrangian_selection_miss'] else '-loss',
      cuda_device: std.parseInt(std.extVar('CUDA_DEVICE')),
      use_amp: std.extVar('USE_AMP') == 'true',
      // Checkpoints are complete or absent (a full disk leaves the previous one usable).
      checkpointer: { type: 'hardkuma_atomic' },
      callbacks: callbacks,
    },
  },
}
