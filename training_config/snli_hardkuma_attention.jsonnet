// Decomposable Attention with HardKuma attention (Bastings et al., 2019, section 6.3, table 3):
// each premise/hypothesis cell is a HardKuma variable whose shapes a and b are softplus'd dot
// products of two feed-forward heads on the attend feed-forward's outputs; no normalisation. The
// Lagrangian holds the expected share of non-zero cells at 10% (multiplicative rule). At test time
// each premise token keeps the 10% of hypothesis tokens most likely non-zero (top-k per row).
local snli = import 'common/snli.libsonnet';
local target = 0.1;

snli.experiment(
  model_type='hardkuma_decomposable_attention',
  matrix_attention={
    type: 'hardkuma',
    a_feedforward: snli.feedforward(snli.hidden, num_layers=1),
    b_feedforward: snli.feedforward(snli.hidden, num_layers=1),
    decoding: { type: 'top_k', share: target },
  },
  // The target anneals from the initial rate over the first 3 epochs (139 batches of 64 each).
  callbacks=[{ type: 'lagrangian', selection: target, anneal_steps: 3 * 139 }],
)
