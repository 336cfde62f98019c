// Shared settings of the SST experiments: Bastings et al. (2019), section 6.2 and appendix B.2.
// Data and word vectors come from environment variables (see hardkuma_allennlp/data_locations.py
// for their defaults and the README for local copies). Each experiment file says only what
// differs: the encoder, and the trainer callbacks.
local embedding_dim = std.parseInt(std.extVar('EMBEDDING_DIM'));
local hidden = 150;

{
  hidden:: hidden,
  embedding_dim:: embedding_dim,

  // A BiLSTM reading the embedded tokens: the gate encoder (Seq2Seq) and the classifier (Seq2Vec).
  bilstm_seq2seq:: {
    type: 'lstm', input_size: embedding_dim, hidden_size: hidden, bidirectional: true,
  },
  bilstm_seq2vec:: {
    type: 'lstm', input_size: embedding_dim, hidden_size: hidden, bidirectional: true,
  },

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
      dropout: 0.5,
    },
    data_loader: { batch_size: 25, shuffle: true },
    validation_data_loader: { batch_size: 100, shuffle: false },
    trainer: {
      optimizer: { type: 'adam', lr: 2e-4, weight_decay: 1e-6 },
      num_epochs: 25,
      patience: 5,
      grad_norm: 5.0,
      validation_metric: '+accuracy',
      cuda_device: std.parseInt(std.extVar('CUDA_DEVICE')),
      use_amp: std.extVar('USE_AMP') == 'true',
      callbacks: callbacks,
    },
  },
}
