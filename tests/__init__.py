from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_ROOT = PROJECT_ROOT / "fixtures"
CONFIG_ROOT = PROJECT_ROOT / "training_config"


def word_gate_model(**model_options) -> dict:
    """Parameters of a small `rationale_model` for learnability tests: trainable 16-dimensional
    embeddings, HardKuma gates from a per-word feed-forward layer, a bag-of-embeddings classifier
    over the gated words."""
    dim = 16
    gate_encoder = {
        "type": "feedforward",
        "feedforward": {
            "input_dim": dim,
            "num_layers": 1,
            "hidden_dims": 16,
            "activations": "tanh",
        },
    }
    return {
        "type": "rationale_model",
        "text_field_embedder": {
            "token_embedders": {"tokens": {"type": "embedding", "embedding_dim": dim}}
        },
        "encoder": {
            "type": "latent_rationale",
            "gate": {"type": "hardkuma", "encoder": gate_encoder},
            "encoder": {"type": "boe", "embedding_dim": dim},
        },
        **model_options,
    }
