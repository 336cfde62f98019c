from hardkuma_allennlp.training.multiplier_rules.dual_ascent import DualAscentRule
from hardkuma_allennlp.training.multiplier_rules.multiplicative import MultiplicativeRule
from hardkuma_allennlp.training.multiplier_rules.multiplier_rule import MultiplierRule

__all__ = ["DualAscentRule", "MultiplicativeRule", "MultiplierRule"]
