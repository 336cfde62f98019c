// Decomposable Attention with HardKuma attention (Bastings et al., 2019, section 6.3, table 3):
// each premise/hypothesis cell is a HardKuma variable whose shapes a and b are softplus'd dot
// products of two feed-forward heads on the attend feed-forward's outputs; no normalisation. The
// Lagrangian holds the expected share of non-zero cells at 10%.
local snli = import 'common/snli.libsonnet';

snli.experiment(
  model_type='hardkuma_decomposable_attention',
  matrix_attention={
    type: 'hardkuma',
    a_feedforward: snli.feedforward(snli.hidden, num_layers=1),
    b_feedforward: snli.feedforward(snli.hidden, num_layers=1),
  },
  // damping 5 (not the callback's default 10): the setting of the runs reported in the README.
  callbacks=[{ type: 'lagrangian', selection: 0.1, damping: 5.0 }],
)
