from .hooks import ChannelsLastHook
from .optimizers import Lamb

__all__ = ['ChannelsLastHook', 'Lamb']
