from .checkpoints import AtomicLocalBackend, ResumeFallbackHook
from .hooks import ChannelsLastHook, EpochSeedHook, NonFiniteLossHook
from .optimizers import Lamb

__all__ = ['AtomicLocalBackend', 'ChannelsLastHook', 'EpochSeedHook', 'Lamb',
           'NonFiniteLossHook', 'ResumeFallbackHook']
