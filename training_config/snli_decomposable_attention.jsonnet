// Baseline of the SNLI experiment (Bastings et al., 2019, section 6.3, table 3): allennlp-models'
// Decomposable Attention model (Parikh et al., 2016), unchanged, with softmax attention over the
// dot products of the attend feed-forward's outputs.
local snli = import 'common/snli.libsonnet';

snli.experiment(
  model_type='decomposable_attention',
  matrix_attention={ type: 'dot_product' },
)
