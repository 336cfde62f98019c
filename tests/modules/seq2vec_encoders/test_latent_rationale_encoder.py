import pytest
import torch
from allennlp.modules.seq2vec_encoders import PytorchSeq2VecWrapper

from hardkuma_allennlp.modules.gates.gate import Gate, GateOutput
from hardkuma_allennlp.modules.seq2seq_encoders.rcnn import RCNN
from hardkuma_allennlp.modules.seq2vec_encoders.latent_rationale_encoder import (
    LatentRationaleEncoder,
    gather_selected,
)
from hardkuma_allennlp.modules.seq2vec_encoders.pooled_seq2seq_encoder import PooledSeq2SeqEncoder


class FixedGate(Gate):
    """Returns the gates it is given (differentiable), to test what the encoder reads."""

    def __init__(self, z: torch.Tensor, dim: int) -> None:
        super().__init__()
        self.z = z
        self.dim = dim

    def get_input_dim(self) -> int:
        return self.dim

    def forward(self, embedded_text, mask):
        return GateOutput(self.z * mask, (self.z * mask).detach())


def test_gather_selected_keeps_order_and_masks_the_rest():
    vectors = torch.arange(2 * 5 * 1, dtype=torch.float).view(2, 5, 1) + 1
    keep = torch.tensor([[0, 1, 0, 1, 1], [0, 0, 1, 0, 0]]).bool()
    gathered, mask = gather_selected(vectors, keep)
    assert mask.tolist() == [[True, True, True], [True, False, False]]
    assert gathered[..., 0].tolist() == [[2.0, 4.0, 5.0], [8.0, 0.0, 0.0]]
    # Nothing kept anywhere, and an empty input: one fully masked position.
    gathered, mask = gather_selected(vectors, torch.zeros_like(keep))
    assert gathered.shape == (2, 1, 1) and not mask.any() and not gathered.any()
    gathered, mask = gather_selected(vectors[:, :0], keep[:, :0])
    assert gathered.shape == (2, 1, 1) and not mask.any()


@pytest.mark.parametrize(
    "make_encoder",
    [
        lambda: PooledSeq2SeqEncoder(RCNN(4, 6, bidirectional=True), pooling="last"),
        lambda: PytorchSeq2VecWrapper(torch.nn.LSTM(4, 3, batch_first=True, bidirectional=True)),
    ],
    ids=["rcnn_last", "allennlp_lstm"],
)
def test_skipping_reads_each_rationale_as_if_it_were_the_input(make_encoder):
    torch.manual_seed(0)
    encoder = make_encoder()
    tokens = torch.randn(3, 7, 4, dtype=torch.float64)
    encoder = encoder.double()
    mask = torch.tensor([[1] * 7, [1] * 5 + [0] * 2, [1] * 3 + [0] * 4]).bool()
    z = torch.tensor(
        [
            [0.0, 0.7, 0.0, 1.0, 0.0, 0.0, 0.3],
            [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0],  # selected only in the padding
            [1.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0],
        ],
        dtype=torch.float64,
        requires_grad=True,
    )
    latent = LatentRationaleEncoder(FixedGate(z, 4), encoder, skip_unselected=True)
    output = latent(tokens, mask)
    for row in range(3):
        kept = [i for i in range(7) if mask[row, i] and z[row, i] != 0]
        if not kept:
            assert not output[row].any()
            continue
        alone = (tokens[row, kept] * z[row, kept].unsqueeze(-1)).unsqueeze(0)
        expected = encoder(alone, torch.ones(1, len(kept), dtype=torch.bool))[0]
        assert torch.allclose(output[row], expected, atol=1e-10)
    # Gradients reach the selected gates only.
    output.sum().backward()
    assert (z.grad[z.detach() == 0] == 0).all()
    assert (z.grad[(z.detach() != 0) & mask] != 0).all()


def test_without_skipping_unselected_tokens_still_step_a_recurrent_encoder():
    torch.manual_seed(0)
    encoder = PooledSeq2SeqEncoder(RCNN(4, 6), pooling="last")
    tokens = torch.randn(1, 6, 4)
    mask = torch.ones(1, 6, dtype=torch.bool)
    z = torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    skipped = LatentRationaleEncoder(FixedGate(z, 4), encoder, skip_unselected=True)(tokens, mask)
    zeros = LatentRationaleEncoder(FixedGate(z, 4), encoder)(tokens, mask)
    assert not torch.allclose(skipped, zeros)
    # Skipping keeps the state of the one selected token; zero inputs let it decay.
    assert zeros.abs().sum() < skipped.abs().sum()


def test_a_batch_without_any_selected_token_encodes_to_zeros():
    encoder = PytorchSeq2VecWrapper(torch.nn.LSTM(4, 3, batch_first=True))
    z = torch.zeros(2, 5)
    latent = LatentRationaleEncoder(FixedGate(z, 4), encoder, skip_unselected=True)
    output = latent(torch.randn(2, 5, 4), torch.ones(2, 5, dtype=torch.bool))
    assert output.shape == (2, 3) and not output.any()


class RecordingGate(FixedGate):
    """Opens every gate and keeps what it read."""

    def __init__(self, dim: int) -> None:
        super().__init__(torch.tensor(1.0), dim)
        self.seen = None

    def forward(self, embedded_text, mask):
        self.seen = embedded_text.detach().clone()
        return super().forward(embedded_text, mask)


class RecordingEncoder(torch.nn.Module):
    """A bag-of-vectors classifier encoder that keeps what it read."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.seen = None

    def get_input_dim(self) -> int:
        return self.dim

    def get_output_dim(self) -> int:
        return self.dim

    def forward(self, inputs, mask):
        self.seen = inputs.detach().clone()
        return inputs.sum(1)


def test_dropout_gives_the_gate_and_the_classifier_independent_masks():
    torch.manual_seed(0)
    gate = RecordingGate(6)
    classifier = RecordingEncoder(6)
    encoder = LatentRationaleEncoder(gate, classifier, dropout=0.5)
    tokens = torch.rand(4, 9, 6) + 0.5
    mask = torch.ones(4, 9, dtype=torch.bool)
    encoder.train()
    encoder(tokens, mask)
    gate_zeros, classifier_zeros = gate.seen == 0, classifier.seen == 0
    # Inverted dropout: each input element is 0 or doubled, about half of each, and the two
    # masks differ (independent draws), as the paper authors' two embedding dropouts do.
    for zeros, seen in ((gate_zeros, gate.seen), (classifier_zeros, classifier.seen)):
        assert 0.3 < zeros.float().mean() < 0.7
        assert torch.allclose(seen[~zeros], 2 * tokens[~zeros])
    assert (gate_zeros != classifier_zeros).float().mean() > 0.3
    encoder.eval()
    encoder(tokens, mask)
    assert torch.equal(gate.seen, tokens) and torch.equal(classifier.seen, tokens)


def test_encode_rationale_returns_the_vector_of_forward_with_the_gates_and_their_loss():
    z = torch.tensor([[0.0, 0.5, 1.0, 0.2], [1.0, 0.0, 0.3, 0.9]], requires_grad=True)
    gate = FixedGate(z, 6)
    encoder = LatentRationaleEncoder(gate, RecordingEncoder(6), dropout=0.5).train()
    tokens, mask = torch.rand(2, 4, 6), torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]]).bool()
    torch.manual_seed(3)
    encoding = encoder.encode_rationale(tokens, mask)
    torch.manual_seed(3)
    assert torch.equal(encoding.vector, encoder(tokens, mask))  # the same dropout draws
    assert torch.equal(encoding.z, z * mask) and not encoding.z.requires_grad
    assert torch.equal(encoding.scores, (z * mask).detach())
    assert encoding.gate_loss == gate.loss and encoding.gate_loss(torch.ones(2)) is None
    encoding.vector.sum().backward()  # gradients reach the gates through z_i * x_i
    assert z.grad is not None and z.grad[mask].abs().min() > 0
