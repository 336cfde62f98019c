import logging
import warnings

import pytest
import torch
from allennlp.modules import FeedForward
from allennlp.modules.seq2seq_encoders import PassThroughEncoder
from allennlp.nn import Activation

from hardkuma_allennlp.modules.gates import DependentHardKumaGate, HardKumaGate
from hardkuma_allennlp.modules.hardkuma_matrix_attention import HardKumaMatrixAttention
from hardkuma_allennlp.modules.penalty_reporter import PenaltyReporter


class ToyReporter(torch.nn.Module, PenaltyReporter):
    """Reports the mean of its weight as its selection rate."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.full((3,), 0.25))

    def forward(self) -> None:
        if self.training:
            self.warn_if_unconstrained()
        self._expected_penalties = {"selection": self.weight.mean()}


def test_penalties_are_empty_until_a_forward_pass_stores_them():
    reporter = ToyReporter()
    assert reporter.expected_penalties() == {}
    reporter.constraint = object()
    reporter()
    penalties = reporter.expected_penalties()
    assert list(penalties) == ["selection"] and penalties["selection"].item() == 0.25
    penalties["selection"].backward()  # differentiable: the callback adds it to the loss
    assert torch.allclose(reporter.weight.grad, torch.full((3,), 1 / 3))


def test_an_unconstrained_module_warns_and_logs_once_per_module(caplog):
    first, second = ToyReporter(), ToyReporter()
    with caplog.at_level(logging.WARNING, logger="hardkuma_allennlp.modules.penalty_reporter"):
        with pytest.warns(UserWarning, match="ToyReporter is training without a constraint"):
            first()
    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    assert "'lagrangian'" in caplog.records[0].getMessage()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first()  # once per module ...
    with pytest.warns(UserWarning, match="training without a constraint"):
        second()  # ... not once per class
    assert PenaltyReporter._warned_unconstrained is False


def test_a_constrained_module_does_not_warn():
    reporter = ToyReporter()
    reporter.constraint = object()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reporter()
        reporter.warn_if_unconstrained()
    assert not reporter._warned_unconstrained


def linear(input_dim: int, output_dim: int) -> FeedForward:
    return FeedForward(input_dim, 1, output_dim, Activation.by_name("linear")())


@pytest.mark.parametrize(
    "make, run, keys",
    [
        (
            lambda: HardKumaGate(PassThroughEncoder(4)),
            lambda module, x, mask: module(x, mask),
            {"selection", "transition"},
        ),
        (
            lambda: DependentHardKumaGate(PassThroughEncoder(4), hidden_size=3),
            lambda module, x, mask: module(x, mask),
            {"selection", "transition"},
        ),
        (
            lambda: HardKumaMatrixAttention(linear(4, 3), linear(4, 3)),
            lambda module, x, mask: module(x, x, matrix_1_mask=mask, matrix_2_mask=mask),
            {"selection"},
        ),
    ],
    ids=["hardkuma_gate", "hardkuma_dependent_gate", "hardkuma_matrix_attention"],
)
def test_the_packages_reporters_store_differentiable_scalar_rates(make, run, keys):
    torch.manual_seed(0)
    module = make()
    module.constraint = object()  # no warning
    assert isinstance(module, PenaltyReporter) and module.expected_penalties() == {}
    x = torch.randn(3, 5, 4)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]]).bool()
    run(module, x, mask)
    penalties = module.expected_penalties()
    assert set(penalties) == keys
    for value in penalties.values():
        assert value.shape == () and value.requires_grad and 0.0 <= value.item() <= 1.0
    sum(penalties.values()).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())
