"""Random streams that restart at every epoch, so that a resumed run repeats the uninterrupted
one exactly.

mmengine seeds Python's, numpy's and torch's generators once, when the run starts, and the
loader workers once, when they start. A run resumed at epoch ``e`` therefore draws other
augmentations than the uninterrupted run did in epoch ``e``: the state the generators had
reached is not in the checkpoint. :class:`EpochSeedHook` re-derives every stream from the run's
seed and the epoch at the start of each epoch, so an epoch's randomness no longer depends on
the epochs before it:

- in the main process (augmentations when ``num_workers=0``): ``random``, ``numpy`` and
  ``torch`` seeded from (seed, epoch, rank);
- in the loader workers, which are restarted for each epoch (``persistent_workers`` is turned
  off): each seeded from (seed, epoch, rank, worker id).

- the caches of ``CachedMosaic`` / ``CachedMixUp`` (``results_cache``) emptied, in the main
  process; restarted workers start from its empty copies.

The data order is already a function of (seed, epoch) (``DefaultSampler`` with
``DistSamplerSeedHook``), and the weights, optimizer, scheduler and EMA are in the checkpoint,
so nothing an epoch draws depends on how the run got there. The price: the Mosaic/MixUp caches
refill at the start of each epoch (their first few dozen images) instead of carrying over.
"""

import random
from functools import partial

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from rtmdet_plus.registry import HOOKS

MAX_SEED = 2**32


def epoch_seed(seed: int, epoch: int, rank: int = 0, worker: int = -1) -> int:
    """A 32-bit seed for (run seed, epoch, rank, worker; -1 = the main process), the streams
    of different tuples independent (numpy's SeedSequence mixing)."""
    entropy = [int(seed) % MAX_SEED, int(epoch), int(rank), int(worker) + 1]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def seed_worker(worker_id: int, seed: int, epoch: int, rank: int) -> None:
    """``worker_init_fn`` of a loader worker in ``epoch``."""
    seed_all(epoch_seed(seed, epoch, rank, worker_id))


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Re-seed the main process and the loader workers from (seed, epoch) at every epoch."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if getattr(loader, 'persistent_workers', False) and loader.num_workers > 0:
            # workers that live across epochs carry their streams (and Mosaic/MixUp caches)
            # over; restarted ones are seeded per epoch
            object.__setattr__(loader, 'persistent_workers', False)
            runner.logger.info(
                'EpochSeedHook: loader workers restart at each epoch (seeded '
                'from the seed and the epoch), instead of persisting'
            )

    def before_train_epoch(self, runner) -> None:
        seed = runner.seed  # after a resume: the checkpoint's seed
        if seed is None:
            return
        rank = get_rank()
        seed_all(epoch_seed(seed, runner.epoch, rank))
        loader = runner.train_dataloader
        for transform in getattr(getattr(loader.dataset, 'pipeline', None), 'transforms', ()):
            if isinstance(getattr(transform, 'results_cache', None), list):
                transform.results_cache.clear()
        if loader.num_workers > 0:
            loader.worker_init_fn = partial(seed_worker, seed=seed, epoch=runner.epoch, rank=rank)
