"""What every data module shares: the checks of batch_size, num_workers, split, seed and counts,
each a one-line UserError, and the loaders its base builds."""

import pytest
import torch

from seqmodels.data.datamodule import (
    AUTO_WORKERS_MAX,
    check_count,
    check_fraction,
    check_seed,
    worker_count,
)
from seqmodels.data.loaders import ResumableLoader
from seqmodels.errors import UserError

BAD = [
    ({"batch_size": 0}, "data.batch_size must be at least 1, got 0"),
    ({"batch_size": "8"}, "data.batch_size must be at least 1, got '8'"),
    ({"batch_size": 2.5}, "data.batch_size must be at least 1, got 2.5"),
    ({"num_workers": -1}, "data.num_workers must be 0 or more, got -1"),
    ({"num_workers": "many"}, "data.num_workers must be a whole number or auto, got 'many'"),
    ({"seed": -3}, "seed must be a whole number, 0 or more, got -3"),
    ({"split": (0.8, 0.2)}, r"data.split=\[0.8, 0.2\]: give three fractions"),
    ({"split": (0.8, 0.3, 0.1)}, "data.split=.*that sum to 1"),
    ({"split": (1.2, -0.1, -0.1)}, "data.split=.*>= 0"),
    ({"split": ("a", "b", "c")}, "data.split=.*give three fractions"),
]


@pytest.mark.parametrize(("options", "message"), BAD, ids=[str(o) for o, _ in BAD])
def test_every_module_refuses_bad_shared_options_in_one_line(tiny_module, task, options, message):
    with pytest.raises(UserError, match=message) as error:
        tiny_module(task, **options)
    assert "\n" not in str(error.value)


def test_modules_carving_from_train_need_a_train_fraction(tiny_module):
    with pytest.raises(UserError, match=r"data.split=.*\(train > 0, val, test >= 0\)"):
        tiny_module("dna_classify", split=(0.0, 0.5, 0.5))


@pytest.mark.parametrize("task", ["dna_species", "dna_pretrain"])
@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_window_modules_refuse_an_n_fraction_outside_0_to_1(tiny_module, task, value):
    with pytest.raises(UserError, match=f"data.max_n_frac must be between 0 and 1, got {value}"):
        tiny_module(task, max_n_frac=value)


def test_checks_return_the_checked_values():
    assert check_count("batch_size", 3) == 3 and check_count("num_workers", 0, minimum=0) == 0
    assert check_fraction("max_n_frac", 1) == 1.0 and check_seed(7) == 7
    with pytest.raises(UserError, match="data.batch_size must be at least 1, got True"):
        check_count("batch_size", True)


def test_a_loader_before_setup_is_refused(tiny_module, task):
    module = tiny_module(task)
    for make in (module.train_dataloader, module.val_dataloader, module.test_dataloader):
        with pytest.raises(RuntimeError, match="call setup"):
            make()


def test_the_three_loaders(tiny_module, task):
    module = tiny_module(task, num_workers=0)
    module.prepare_data()
    module.setup(None)
    loaders = [module.train_dataloader(), module.val_dataloader(), module.test_dataloader()]
    assert all(isinstance(loader, ResumableLoader) for loader in loaders)
    assert not any(loader.persistent_workers for loader in loaders)
    for loader, dataset in zip(
        loaders, (module.train_dataset, module.val_dataset, module.test_dataset), strict=True
    ):
        assert loader.dataset is dataset
        # pretraining's training items are whole batches; everything else is batched by 4
        whole = task == "dna_pretrain" and dataset is module.train_dataset
        assert loader.batch_size == (None if whole else 4)
        assert next(iter(loader))["tokens"].shape[0] <= 4
    # training reads fixed items (labelled sequences) in a seeded order, new every epoch
    sampler = loaders[0].sampler
    assert sampler.shuffle_seed == (module.seed if task == "dna_classify" else None)
    assert all(loader.sampler.shuffle_seed is None for loader in loaders[1:])


def test_training_loader_resumes_from_its_state(tiny_module, task):
    """The base's loader carries its state: a resumed epoch reads the rest of the same epoch."""
    module = tiny_module(task, num_workers=0)
    module.setup("fit")
    loader = module.train_dataloader()
    loader.sampler.set_epoch(1)
    whole = [batch["tokens"] for batch in loader]
    iterator = iter(loader)
    head = next(iterator)["tokens"]
    state = loader.state_dict()
    resumed = tiny_module(task, num_workers=0)
    resumed.setup("fit")
    again = resumed.train_dataloader()
    again.load_state_dict(state)
    rest = [batch["tokens"] for batch in again]
    assert len(whole) >= 2 and len(rest) == len(whole) - 1
    assert all(map(torch.equal, [head, *rest], whole))


def test_auto_workers_load_in_processes_on_a_gpu_machine_only(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert worker_count("auto") == 0  # the CPU's cores do the arithmetic
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for cores, expected in ((1, 1), (2, 1), (3, 2), (64, AUTO_WORKERS_MAX)):
        monkeypatch.setattr("os.cpu_count", lambda cores=cores: cores)
        assert worker_count("auto") == expected
    assert worker_count(3) == 3
