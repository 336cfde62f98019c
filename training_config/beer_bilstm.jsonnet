// Full-text regression baseline (paper table 1): a BiLSTM regressor reading every token.
local beer = import 'common/beer.libsonnet';

beer.experiment(
  encoder={
    type: 'lstm', input_size: beer.embedding_dim, hidden_size: 200, bidirectional: true,
  },
)
