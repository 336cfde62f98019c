// sst_hardkuma.jsonnet with dependent gates: z_i conditioned on z_<i (eq. 16). Dependent gates
// are decoded one by one, so test time uses a threshold on P(z != 0) (top-k needs the whole
// sentence).
local sst = import 'common/sst.libsonnet';

sst.experiment(
  encoder={
    type: 'latent_rationale',
    gate: {
      type: 'hardkuma_dependent',
      encoder: sst.bilstm_seq2seq,
      hidden_size: 30,
      decoding: { type: 'threshold', threshold: 0.5 },
    },
    encoder: sst.bilstm_seq2vec,
  },
  callbacks=[sst.lagrangian(0.3)],
)
