from .bad_samples import BadSampleReportHook
from .channels_last import ChannelsLastHook
from .epoch_seed import EpochSeedHook
from .non_finite_loss import NonFiniteLossHook

__all__ = ['BadSampleReportHook', 'ChannelsLastHook', 'EpochSeedHook', 'NonFiniteLossHook']
