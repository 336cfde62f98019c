from hardkuma_allennlp.distributions.hardkuma import HardKumaraswamy
from hardkuma_allennlp.distributions.penalties import expected_l0, expected_transitions

__all__ = ["HardKumaraswamy", "expected_l0", "expected_transitions"]
