"""
HardKuma rationale models for AllenNLP: Bastings, Aziz & Titov, "Interpretable Neural Predictions
with Differentiable Binary Variables", ACL 2019 (https://arxiv.org/abs/1905.08160).

Importing the package registers every component (AllenNLP imports it through `.allennlp_plugins`
or `--include-package hardkuma_allennlp`) and sets the defaults of the environment variables
that the experiments in `training_config/` read (see `hardkuma_allennlp.environment`). It also
makes AllenNLP's `pretrained_transformer*` components work with the installed transformers (see
`hardkuma_allennlp.transformers_compat`), makes AllenNLP's errors for config values of the
wrong type and for unknown trainer keys name the key's path in the config
(`hardkuma_allennlp.config_paths`), names the file and line of a label the model does not know
(`hardkuma_allennlp.dataset_readers.lines`), makes loading a model archive safe
(`hardkuma_allennlp.archive_safety`), and keeps the outputs of `predict`, `evaluate`,
`train --force` and `rationales` off their inputs and devices, with a clear error for a GPU that
is not there (`hardkuma_allennlp.commands.outputs`).
"""

# Every module that registers a component must be imported here.
from hardkuma_allennlp.archive_safety import install_archive_safety
from hardkuma_allennlp.commands.outputs import install_output_guards
from hardkuma_allennlp.commands.rationales import Rationales
from hardkuma_allennlp.config_paths import name_config_paths
from hardkuma_allennlp.dataset_readers.beer import BeerAdvocateDatasetReader
from hardkuma_allennlp.dataset_readers.lines import name_unknown_labels
from hardkuma_allennlp.dataset_readers.snli import HardKumaSnliReader
from hardkuma_allennlp.dataset_readers.sst import SstTreeDatasetReader
from hardkuma_allennlp.dataset_readers.text_classification import TextClassificationDatasetReader
from hardkuma_allennlp.environment import set_default_environment
from hardkuma_allennlp.models.hardkuma_decomposable_attention import (
    HardKumaDecomposableAttention,
)
from hardkuma_allennlp.models.rationale_model import RationaleModel
from hardkuma_allennlp.modules.gate_decoders import (
    GateDecoder,
    PaperDecoder,
    SpanDecoder,
    ThresholdDecoder,
    TopKDecoder,
)
from hardkuma_allennlp.modules.gates import BernoulliGate, DependentHardKumaGate, Gate, HardKumaGate
from hardkuma_allennlp.modules.hardkuma_matrix_attention import HardKumaMatrixAttention
from hardkuma_allennlp.modules.hardkuma_shape import HardKumaShape
from hardkuma_allennlp.modules.seq2seq_encoders import MaskedLstm
from hardkuma_allennlp.modules.seq2seq_encoders.rcnn import RCNN
from hardkuma_allennlp.modules.seq2vec_encoders.latent_rationale_encoder import (
    LatentRationaleEncoder,
)
from hardkuma_allennlp.modules.seq2vec_encoders.pooled_seq2seq_encoder import (
    PooledSeq2SeqEncoder,
)
from hardkuma_allennlp.predictors.attention_predictor import HardKumaAttentionPredictor
from hardkuma_allennlp.predictors.rationale_predictor import RationalePredictor
from hardkuma_allennlp.tokenizers.blank_spacy_tokenizer import BlankSpacyTokenizer
from hardkuma_allennlp.training.checkpointer import AtomicCheckpointer
from hardkuma_allennlp.training.lagrangian import LagrangianCallback
from hardkuma_allennlp.training.learning_rate_schedulers import ReduceOnPlateau
from hardkuma_allennlp.training.metrics import RationaleF1, Selection
from hardkuma_allennlp.training.multiplier_rules import (
    DualAscentRule,
    MultiplicativeRule,
    MultiplierRule,
)
from hardkuma_allennlp.transformers_compat import patch_allennlp_transformers

install_archive_safety()
install_output_guards()
patch_allennlp_transformers()
name_config_paths()
name_unknown_labels()
set_default_environment()

__all__ = [
    "AtomicCheckpointer",
    "BeerAdvocateDatasetReader",
    "BernoulliGate",
    "BlankSpacyTokenizer",
    "DependentHardKumaGate",
    "DualAscentRule",
    "Gate",
    "GateDecoder",
    "HardKumaAttentionPredictor",
    "HardKumaDecomposableAttention",
    "HardKumaGate",
    "HardKumaMatrixAttention",
    "HardKumaShape",
    "LagrangianCallback",
    "LatentRationaleEncoder",
    "MaskedLstm",
    "MultiplicativeRule",
    "MultiplierRule",
    "PaperDecoder",
    "PooledSeq2SeqEncoder",
    "RCNN",
    "RationaleF1",
    "RationaleModel",
    "RationalePredictor",
    "Rationales",
    "ReduceOnPlateau",
    "Selection",
    "SpanDecoder",
    "ThresholdDecoder",
    "TopKDecoder",
    "HardKumaSnliReader",
    "SstTreeDatasetReader",
    "TextClassificationDatasetReader",
]
