// The paper's HardKuma SST model (Bastings et al., 2019, section 6.2): independent HardKuma gates
// from a BiLSTM, a BiLSTM classifier over the gated embeddings, and the Lagrangian constraint
// holding the expected selection rate at its target.
local sst = import 'common/sst.libsonnet';

sst.experiment(
  encoder={
    type: 'latent_rationale',
    gate: { type: 'hardkuma', encoder: sst.bilstm_seq2seq },
    encoder: sst.bilstm_seq2vec,
  },
  callbacks=[{ type: 'lagrangian', selection: 0.3 }],
)
