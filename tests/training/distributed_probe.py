"""A test-only trainer callback that records, per worker and batch, what the lagrangian has."""

import json
import os

import torch.distributed as dist
from allennlp.training.callbacks.callback import TrainerCallback

from hardkuma_allennlp.training.lagrangian import LagrangianCallback


@TrainerCallback.register("lagrangian_probe")
class LagrangianProbe(TrainerCallback):
    def on_batch(
        self,
        trainer,
        batch_inputs,
        batch_outputs,
        batch_metrics,
        epoch,
        batch_number,
        is_training,
        is_primary=True,
        **kwargs,
    ):
        if not is_training:
            return
        (lagrangian,) = [c for c in trainer._callbacks if isinstance(c, LagrangianCallback)]
        record = {
            "epoch": epoch,
            "batch": batch_number,
            "multipliers": lagrangian.multipliers,
            "rate_sum": lagrangian._rate_sums["selection"],
            "rate_count": lagrangian._rate_count,
            "logged_rate": batch_metrics.get("lagrangian_selection_rate"),
        }
        rank = dist.get_rank() if dist.is_initialized() else 0
        path = os.path.join(self.serialization_dir, f"probe_rank{rank}.jsonl")
        with open(path, "a") as out:
            out.write(json.dumps(record) + "\n")
