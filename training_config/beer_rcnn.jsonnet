// Full-text regression baseline (paper table 1): the RCNN regressor reading every token.
local beer = import 'common/beer.libsonnet';

beer.experiment(encoder=beer.rcnn_seq2vec)
