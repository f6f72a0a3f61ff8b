from .hooks import ChannelsLastHook

__all__ = ['ChannelsLastHook']
