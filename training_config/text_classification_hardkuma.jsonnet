// The HardKuma rationale model (the SST setup of Bastings et al., 2019, section 6.2: independent
// HardKuma gates from a BiLSTM, a BiLSTM classifier reading the gated words, the Lagrangian
// constraint holding the expected selection rate at 30 %) on your own text classification data:
// CSV, TSV or JSON lines with a `text` and a `label` column, read by the
// `hardkuma_text_classification` reader (format from the file extension; see its docstring).
//
//   TEXT_TRAIN=my/train.csv TEXT_DEV=my/dev.csv allennlp train \
//     training_config/text_classification_hardkuma.jsonnet -s runs/mine --include-package hardkuma_allennlp
//
// Environment variables:
//   TEXT_TRAIN, TEXT_DEV  the training and validation files (required);
//   TEXT_EMBEDDINGS       pretrained word vectors (e.g. GloVe, a path or URL) of dimension
//                         EMBEDDING_DIM, kept frozen; empty (the default): word embeddings of
//                         dimension EMBEDDING_DIM trained from scratch;
//   EMBEDDING_DIM, LOWERCASE, CUDA_DEVICE, USE_AMP as for the other experiments.
// Other columns and settings with -o, e.g.
//   -o '{"dataset_reader.text_key": "review", "dataset_reader.label_key": "stars",
//        "dataset_reader.rationale_key": "evidence", "trainer.num_epochs": 10}'
// (with `rationale_key`, the gold rationales give rationale precision, recall and F1 metrics).
local sst = import 'common/sst.libsonnet';
local embedding_dim = std.parseInt(std.extVar('EMBEDDING_DIM'));
local embeddings = std.extVar('TEXT_EMBEDDINGS');
local hidden = sst.hidden;
local target = 0.3;
local dropout = 0.5;

local bilstm_seq2seq = {
  type: 'masked_lstm', input_size: embedding_dim, hidden_size: hidden, bidirectional: true,
};

{
  dataset_reader: {
    type: 'hardkuma_text_classification',
    text_key: 'text',
    label_key: 'label',
    lowercase: std.extVar('LOWERCASE') == 'true',
  },
  train_data_path: std.extVar('TEXT_TRAIN'),
  validation_data_path: std.extVar('TEXT_DEV'),
  model: {
    type: 'rationale_model',
    text_field_embedder: {
      token_embedders: {
        tokens: if embeddings == '' then {
          type: 'embedding', embedding_dim: embedding_dim, trainable: true,
        } else {
          type: 'embedding',
          embedding_dim: embedding_dim,
          pretrained_file: embeddings,
          trainable: false,
        },
      },
    },
    encoder: {
      type: 'latent_rationale',
      gate: { type: 'hardkuma', encoder: bilstm_seq2seq, shape: { min_shape: 1e-6 } },
      encoder: { type: 'pooled_seq2seq', encoder: bilstm_seq2seq, pooling: 'last' },
      // Independent dropout masks on the gate's and the classifier's inputs.
      dropout: dropout,
    },
    dropout: dropout,
    embedding_dropout: 0.0,
    // The paper authors' initialisation, as in the SST experiments (the same patterns).
    initializer: sst.authors_initializer_for(embedding_dim),
  },
  data_loader: { batch_size: 25, shuffle: true },
  validation_data_loader: { batch_size: 100, shuffle: false },
  trainer: {
    optimizer: { type: 'adam', lr: 2e-4, weight_decay: 1e-5 },
    learning_rate_scheduler: {
      type: 'hardkuma_reduce_on_plateau',
      mode: 'max',  // of the validation metric below, which is higher-is-better
      factor: 0.5,
      patience: 5,
      cooldown: 5,
      threshold: 1e-4,
      min_lr: 1e-5,
    },
    num_epochs: 25,
    grad_norm: 5.0,
    // The dev loss, plus the distance of the decoded selection from the target.
    validation_metric: ['-loss', '-lagrangian_selection_miss'],
    cuda_device: std.parseInt(std.extVar('CUDA_DEVICE')),
    use_amp: std.extVar('USE_AMP') == 'true',
    // Checkpoints are complete or absent (a full disk leaves the previous one usable).
    checkpointer: { type: 'hardkuma_atomic' },
    // The paper authors' constraint: a multiplier growing geometrically while the expected
    // selection rate is above the target.
    callbacks: [{ type: 'lagrangian', selection: target, rule: { type: 'multiplicative' } }],
  },
}
