from .channels_last import ChannelsLastHook
from .epoch_seed import EpochSeedHook
from .non_finite_loss import NonFiniteLossHook

__all__ = ['ChannelsLastHook', 'EpochSeedHook', 'NonFiniteLossHook']
