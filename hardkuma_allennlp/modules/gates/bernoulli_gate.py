from typing import Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.modules import Seq2SeqEncoder

from hardkuma_allennlp.modules.gates.gate import Gate, GateOutput


@Gate.register("bernoulli")
class BernoulliGate(Gate):
    """
    The baseline of [Bastings et al. (2019)](https://arxiv.org/abs/1905.08160): Lei et al.'s
    (2016, https://arxiv.org/abs/1606.04155) rationale generator with binary gates
    `z_i ~ Bernoulli(sigmoid(w^T h_i + c))` over the output `h_i` of a `Seq2SeqEncoder`, trained
    with REINFORCE (score function estimator). In evaluation `z_i = 1` where the probability is at
    least 0.5.

    Each instance's cost is its task loss plus fixed-weight penalties on the number of selected
    tokens (L0) and of transitions (coherence, a fused lasso), in absolute counts as in Lei et al.:

        cost = task_loss + sparsity * sum_i z_i + coherence * sum_i |z_i - z_{i-1}|

    and the gate's surrogate loss is `mean((cost - baseline) * log P(z))`, whose gradient is the
    REINFORCE estimate of the gradient of the expected cost. The baseline, a moving average of the
    batch mean cost (a buffer, so it is saved with the model), reduces the estimator's variance.
    The model adds this surrogate to its loss through `Gate.loss`.

    Registered as a `Gate` with name "bernoulli".

    # Parameters

    encoder : `Seq2SeqEncoder`
        Reads the embedded tokens.
    sparsity : `float`
        Weight of the number of selected tokens in the cost.
    coherence : `float`
        Weight of the number of transitions in the cost (Lei et al.'s setting is 2 * sparsity).
    baseline_decay : `float`, optional (default = `0.9`)
        Decay of the moving-average baseline, in [0, 1).
    """

    def __init__(
        self,
        encoder: Seq2SeqEncoder,
        sparsity: float,
        coherence: float,
        baseline_decay: float = 0.9,
    ) -> None:
        super().__init__()
        if sparsity < 0 or coherence < 0:
            raise ConfigurationError("sparsity and coherence weights must be >= 0")
        if not 0 <= baseline_decay < 1:
            raise ConfigurationError(f"baseline_decay must lie in [0, 1), got {baseline_decay}")
        self._encoder = encoder
        self._logit = torch.nn.Linear(encoder.get_output_dim(), 1)
        self._sparsity = sparsity
        self._coherence = coherence
        self._baseline_decay = baseline_decay
        self.register_buffer("baseline", torch.zeros(()))
        self.register_buffer("baseline_initialized", torch.zeros((), dtype=torch.bool))
        self._log_prob: Optional[torch.Tensor] = None
        self._penalty: Optional[torch.Tensor] = None

    def get_input_dim(self) -> int:
        return self._encoder.get_input_dim()

    def forward(self, embedded_text: torch.Tensor, mask: torch.BoolTensor) -> GateOutput:
        # Shape: (batch_size, seq_len)
        logits = self._logit(self._encoder(embedded_text, mask)).squeeze(-1)
        scores = torch.sigmoid(logits.detach()) * mask
        if not self.training:
            self._log_prob = None
            return GateOutput((logits >= 0).to(embedded_text.dtype) * mask, scores)
        if self._log_prob is not None:
            raise ConfigurationError(
                "The 'bernoulli' gate's REINFORCE loss was not added to the training loss of the "
                "last batch, so the gate cannot learn (its parameters get no gradient). Use it "
                "in a 'rationale_model', which adds it, or use a 'hardkuma' gate (trained through "
                "the sample) with the 'lagrangian' callback, which works in any model."
            )
        with torch.no_grad():
            z = torch.bernoulli(torch.sigmoid(logits)) * mask
        # log P(z) summed over valid positions. Shape: (batch_size,)
        log_prob = -torch.nn.functional.binary_cross_entropy_with_logits(
            logits, z, reduction="none"
        )
        self._log_prob = (log_prob * mask).sum(-1)
        transitions = ((z[:, 1:] - z[:, :-1]).abs() * (mask[:, 1:] & mask[:, :-1])).sum(-1)
        self._penalty = self._sparsity * z.sum(-1) + self._coherence * transitions
        return GateOutput(z, scores)

    def loss(self, per_instance_task_loss: torch.Tensor) -> Optional[torch.Tensor]:
        if self._log_prob is None:
            return None
        cost = per_instance_task_loss.detach() + self._penalty
        advantage = cost - self.baseline
        with torch.no_grad():
            mean_cost = cost.mean()
            if not self.baseline_initialized:
                self.baseline.copy_(mean_cost)
                self.baseline_initialized.fill_(True)
            else:
                decay = self._baseline_decay
                self.baseline.copy_(decay * self.baseline + (1 - decay) * mean_cost)
        surrogate = (advantage * self._log_prob).mean()
        self._log_prob = None
        return surrogate
