"""Repeated-augmentation sampler (Hoffer et al. 2020; mmpretrain's ``RepeatAugSampler``)."""

import math
from typing import Iterator, Optional

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from rtmdet_plus.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class RepeatAugSampler(Sampler):
    """Each epoch, every index of a (shuffled) permutation ``num_repeats`` times in a row, the
    list padded by wrapping and dealt round-robin to the ranks; each rank keeps its first
    ``ceil(len(dataset) / world_size)``, so an epoch still has the dataset's length while each
    image appears, augmented differently, on up to ``num_repeats`` ranks."""

    def __init__(
        self, dataset, shuffle: bool = True, num_repeats: int = 3, seed: Optional[int] = None
    ) -> None:
        if num_repeats < 1:
            raise ValueError(f'num_repeats must be >= 1, got {num_repeats}')
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.shuffle = shuffle
        self.num_repeats = num_repeats
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.num_samples = math.ceil(len(dataset) * num_repeats / self.world_size)
        self.total_size = self.num_samples * self.world_size
        self.num_selected_samples = math.ceil(len(dataset) / self.world_size)

    def indices(self) -> list:
        """The indices of this rank for the current epoch."""
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(len(self.dataset), generator=generator).tolist()
        else:
            order = list(range(len(self.dataset)))
        repeated = [index for index in order for _ in range(self.num_repeats)]
        repeated += repeated[: self.total_size - len(repeated)]
        return repeated[self.rank : self.total_size : self.world_size][: self.num_selected_samples]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices())

    def __len__(self) -> int:
        return self.num_selected_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
