// HardKuma rationales for BeerAdvocate as the rationalization papers of 2022-25 run it (FR,
// NeurIPS 2022; MGR, ACL 2023; DR, KDD 2023; MCD, NeurIPS 2023): the aspect's score becomes a
// binary sentiment label (negative at or below 0.4, positive at or above 0.6, the reviews in
// between dropped), the training reviews are balanced by class, reviews are cut at 256 tokens
// for training, validation and the annotated reviews alike, and the selection is held near the
// share of words that humans annotated for the aspect. `evaluate` on `annotations.json` reports
// accuracy and token precision, recall and F1 (docs/usage/beer_classification.md says which
// reviews and tokens count).
//
// The gates, regressor-turned-classifier and constraint are those of beer_hardkuma.jsonnet; only
// the target differs (the human rates below, each one number to edit), and the batches hold 128
// reviews, as the peers' do, which keeps about as many steps an epoch on the balanced training
// file (3,818 reviews of 9,000 for look) as the regression config takes on the whole file.
// Environment variables as for beer_hardkuma.jsonnet (BEER_DATA_DIR, BEER_EMBEDDINGS,
// BEER_EMBEDDING_DIM, BEER_ASPECT, CUDA_DEVICE, USE_AMP).
local base = import 'beer_hardkuma.jsonnet';
local beer = import 'common/beer.libsonnet';

// The share of words annotated for each aspect (look, smell, palate), as the peers set it.
local human_rates = [0.185, 0.156, 0.124];
local binary = { binarize: true, negative_threshold: 0.4, positive_threshold: 0.6 };

base + {
  dataset_reader+: binary { balance: true },
  validation_dataset_reader+: binary { max_length: 256 },
  // The label indices are fixed by the reader (0 negative, 1 positive); these are their names.
  vocabulary: { type: 'from_instances', tokens_to_add: { labels: ['negative', 'positive'] } },
  model+: { task: 'classification', num_targets: null },
  data_loader+: { batch_size: 128 },
  trainer+: {
    // Up to 900 steps, against 720 for the regression config's 20 epochs of the whole file.
    num_epochs: 30,
    validation_metric: ['+accuracy', '-lagrangian_selection_miss'],
    callbacks: [beer.lagrangian { selection: human_rates[beer.aspect] }],
  },
}
