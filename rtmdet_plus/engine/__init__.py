from .checkpoints import AtomicLocalBackend, ResumeFallbackHook
from .hooks import BadSampleReportHook, ChannelsLastHook, EpochSeedHook, NonFiniteLossHook
from .optimizers import Lamb

__all__ = [
    'AtomicLocalBackend',
    'BadSampleReportHook',
    'ChannelsLastHook',
    'EpochSeedHook',
    'Lamb',
    'NonFiniteLossHook',
    'ResumeFallbackHook',
]
