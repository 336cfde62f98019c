import torch

from hardkuma_allennlp.distributions import HardKumaraswamy
from hardkuma_allennlp.modules.gate_decoders.gate_decoder import GateDecoder


@GateDecoder.register("paper")
class PaperDecoder(GateDecoder):
    """
    The test-time rule of [Bastings et al. (2019)](https://arxiv.org/abs/1905.08160): each gate
    takes the most probable of 0, 1 and the open interval (0, 1) (in the interval, the mean of the
    underlying Kumaraswamy; see `HardKumaraswamy.deterministic`). How much text it keeps depends
    on how confident the gates are: a gate with P(z = 0) = 0.6 is sampled non-zero 40 % of the time
    in training but is 0 here, so the selection can fall well short of the training target.

    Registered as a `GateDecoder` with name "paper" (the default).
    """

    elementwise = True

    def __call__(self, distribution: HardKumaraswamy, mask: torch.BoolTensor) -> torch.Tensor:
        z = distribution.deterministic()
        return torch.where(mask, z, torch.zeros_like(z))
