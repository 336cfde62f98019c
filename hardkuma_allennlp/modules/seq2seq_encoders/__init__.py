from hardkuma_allennlp.modules.seq2seq_encoders.masked_lstm import MaskedLstm
from hardkuma_allennlp.modules.seq2seq_encoders.rcnn import RCNN

__all__ = ["MaskedLstm", "RCNN"]
