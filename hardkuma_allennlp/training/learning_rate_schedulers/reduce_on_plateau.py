from typing import List, Union

import torch
from allennlp.training.learning_rate_schedulers.learning_rate_scheduler import (
    LearningRateScheduler,
    _PyTorchLearningRateSchedulerWithMetricsWrapper,
)
from allennlp.training.optimizers import Optimizer


@LearningRateScheduler.register("hardkuma_reduce_on_plateau")
class ReduceOnPlateau(_PyTorchLearningRateSchedulerWithMetricsWrapper):
    """
    PyTorch's `ReduceLROnPlateau` for AllenNLP 2.10 on torch 2.x: AllenNLP's own
    "reduce_on_plateau" passes the `verbose` argument that newer torch releases removed, and fails
    at construction. The same scheduler, with the same arguments but `verbose`, stepped with the
    combined validation metric after each epoch (AllenNLP's metric is higher-is-better: use
    `mode: 'max'`). The SST experiments use it for the paper authors' protocol ([Bastings et al.,
    2019](https://arxiv.org/abs/1905.08160): halve the learning rate when the dev objective stops
    improving).

    Registered as a `LearningRateScheduler` with name "hardkuma_reduce_on_plateau".

    # Parameters

    optimizer : `Optimizer`
        Passed by the trainer.
    mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps
        As in `torch.optim.lr_scheduler.ReduceLROnPlateau`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: Union[float, List[float]] = 0,
        eps: float = 1e-8,
    ) -> None:
        # In torch's order, all but `verbose`.
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps
        )
        super().__init__(scheduler)
