from .channels_last import ChannelsLastHook

__all__ = ['ChannelsLastHook']
