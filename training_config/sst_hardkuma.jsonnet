// The paper's HardKuma SST model (Bastings et al., 2019, section 6.2): independent HardKuma gates
// from a BiLSTM, a BiLSTM classifier over the gated embeddings, and the Lagrangian constraint
// holding the expected selection rate at its target (dual ascent on a target annealed over 3 epochs).
// At test time the gates keep exactly the target share of each sentence (top-k decoding); pass
// -o '{"model.encoder.gate.decoding": "paper"}' to `allennlp evaluate` for the paper's rule.
local sst = import 'common/sst.libsonnet';
local target = 0.3;

sst.experiment(
  encoder={
    type: 'latent_rationale',
    gate: {
      type: 'hardkuma',
      encoder: sst.bilstm_seq2seq,
      decoding: { type: 'top_k', share: target },
    },
    encoder: sst.bilstm_seq2vec,
  },
  callbacks=[sst.lagrangian(target)],
)
