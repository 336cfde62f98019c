from hardkuma_allennlp.modules.gates.bernoulli_gate import BernoulliGate
from hardkuma_allennlp.modules.gates.gate import Gate
from hardkuma_allennlp.modules.gates.hardkuma_dependent_gate import DependentHardKumaGate
from hardkuma_allennlp.modules.gates.hardkuma_gate import HardKumaGate

__all__ = ["BernoulliGate", "DependentHardKumaGate", "Gate", "HardKumaGate"]
