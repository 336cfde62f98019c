import torch
from allennlp.common import Params
from allennlp.training.learning_rate_schedulers import LearningRateScheduler

from hardkuma_allennlp.training.learning_rate_schedulers import ReduceOnPlateau


def test_halves_the_learning_rate_after_patience_epochs_without_improvement():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([parameter], lr=2e-4)
    scheduler = LearningRateScheduler.from_params(
        Params({"type": "hardkuma_reduce_on_plateau", "mode": "max", "factor": 0.5, "patience": 2}),
        optimizer=optimizer,
    )
    assert isinstance(scheduler, ReduceOnPlateau)
    for metric in (-1.0, -0.9, -0.95, -0.95):  # best at the 2nd epoch, then 2 without improvement
        scheduler.step(metric)
    assert optimizer.param_groups[0]["lr"] == 2e-4
    scheduler.step(-0.95)  # the 3rd epoch without improvement
    assert optimizer.param_groups[0]["lr"] == 1e-4
    # Its state goes into checkpoints, so `--recover` continues the schedule.
    state = scheduler.state_dict()
    assert state["num_bad_epochs"] == 0 and state["best"] == -0.9


def test_every_argument_reaches_the_pytorch_scheduler():
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    arguments = {
        "mode": "max",
        "factor": 0.25,
        "patience": 3,
        "threshold": 0.5,
        "threshold_mode": "abs",
        "cooldown": 2,
        "min_lr": 0.125,
        "eps": 1e-3,
    }
    scheduler = LearningRateScheduler.from_params(
        Params({"type": "hardkuma_reduce_on_plateau", **arguments}), optimizer=optimizer
    )
    torch_scheduler = scheduler.lr_scheduler
    assert isinstance(torch_scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    assert torch_scheduler.mode == "max"
    assert torch_scheduler.factor == 0.25
    assert torch_scheduler.patience == 3
    assert torch_scheduler.threshold == 0.5
    assert torch_scheduler.threshold_mode == "abs"
    assert torch_scheduler.cooldown == 2
    assert torch_scheduler.min_lrs == [0.125]
    assert torch_scheduler.eps == 1e-3
