// sst_hardkuma.jsonnet with dependent gates: z_i conditioned on z_<i (eq. 16).
local sst = import 'common/sst.libsonnet';

sst.experiment(
  encoder={
    type: 'latent_rationale',
    gate: { type: 'hardkuma_dependent', encoder: sst.bilstm_seq2seq, hidden_size: 30 },
    encoder: sst.bilstm_seq2vec,
  },
  callbacks=[{ type: 'lagrangian', selection: 0.3 }],
)
