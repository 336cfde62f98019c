from hardkuma_allennlp.training.metrics.rationale_f1 import RationaleF1
from hardkuma_allennlp.training.metrics.selection import Selection

__all__ = ["RationaleF1", "Selection"]
