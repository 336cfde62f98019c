from hardkuma_allennlp.training.multiplier_rules.dual_ascent import DualAscentRule
from hardkuma_allennlp.training.multiplier_rules.multiplicative import MultiplicativeRule
from hardkuma_allennlp.training.multiplier_rules.multiplier_rule import MultiplierRule
from hardkuma_allennlp.training.multiplier_rules.two_phase import TwoPhaseRule

__all__ = ["DualAscentRule", "MultiplicativeRule", "MultiplierRule", "TwoPhaseRule"]
