// HardKuma rationales over a pretrained transformer for SST: sst_hardkuma.jsonnet (the paper's
// model and the authors' training protocol) with the GloVe vectors replaced by a transformer's
// contextual word vectors. AllenNLP's `pretrained_transformer_mismatched` indexer and embedder
// give one vector a word (the mean of its word pieces' last-layer vectors), so the gates select
// treebank words, never word pieces: a word's gate scales its one vector, which covers all of its
// pieces, and `z`, `rationale` and the reports list words, as for the GloVe models.
//
// Frozen: the transformer is not trained (`train_parameters: false`) and has no dropout (its
// dropout rates set to 0 through `transformer_kwargs`, the config names of BERT, RoBERTa and
// ELECTRA; AllenNLP 2.10's mismatched embedder has no `eval_mode`), so each word's vector is a
// fixed feature, the same in training and at test time. The gate's BiLSTM, the HardKuma shape
// layers, the classifier's BiLSTM and the output layer are trained. Two reasons. (1) A
// fine-tuned encoder under the classifier can learn to write the label into whichever words the
// gate keeps (every word's vector attends to the whole sentence), so the selection no longer has
// to contain the evidence: the degeneration reported for select-then-predict models on BERT.
// Frozen, the word vectors are fixed features, and the trained parts are exactly those of the
// GloVe model. (2) No backward pass through the transformer, so the authors' 25 epochs fit on a
// CPU. To fine-tune anyway:
// -o '{"model.text_field_embedder.token_embedders.tokens.train_parameters": true}' (and drop
// the `transformer_kwargs` to keep the model's own dropout).
// Caveat: a frozen contextual vector still carries some of the sentence around its word, so a
// word the gate drops is not wholly absent from the classifier's input; ERASER's sufficiency and
// comprehensiveness (`allennlp rationales`) re-run the model on the reduced text, where the
// transformer no longer sees the removed words, and so measure what that leaves.
//
// TRANSFORMER_MODEL and TRANSFORMER_DIM: as in sst_transformer.jsonnet.
local sst = import 'common/sst.libsonnet';
local transformer = std.extVar('TRANSFORMER_MODEL');
local dim = std.parseInt(std.extVar('TRANSFORMER_DIM'));
// Texts longer than this many word pieces are folded into windows by the indexer and embedder
// (the model's position limit; TRANSFORMER_MAX_LENGTH, default 512).
local max_length = std.parseInt(std.extVar('TRANSFORMER_MAX_LENGTH'));
local hidden = sst.hidden;
local target = 0.3;
local bilstm = { type: 'masked_lstm', input_size: dim, hidden_size: hidden, bidirectional: true };

sst.experiment(
  encoder={
    type: 'latent_rationale',
    gate: { type: 'hardkuma', encoder: bilstm, shape: { min_shape: 1e-6 } },
    encoder: { type: 'pooled_seq2seq', encoder: bilstm, pooling: 'last' },
    dropout: sst.dropout,
  },
  callbacks=[sst.multiplicative_lagrangian(target)],
) + {
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
          train_parameters: false,
          transformer_kwargs: { hidden_dropout_prob: 0.0, attention_probs_dropout_prob: 0.0 },
        },
      },
    },
    // The authors' initialisation for this input size; its patterns never reach the transformer.
    initializer: sst.authors_initializer_for(dim),
    embedding_dropout: 0.0,
  },
  data_loader: { batch_size: 25, shuffle: true },
  // 6 epochs, not the authors' 25, so that a run fits in about 13 minutes of CPU time on one
  // thread (every batch runs the transformer forward). On SST the gates stay open for 3 epochs,
  // the multiplier closes them in the 4th (below the target) and they reopen towards it in the
  // 5th and 6th (benchmarks/sst_transformer.py). On a GPU, the authors' protocol:
  // -o '{"trainer.num_epochs": 25, "trainer.cuda_device": 0}'.
  trainer+: { num_epochs: 6 },
}
