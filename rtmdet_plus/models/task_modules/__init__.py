from .assigners import DynamicSoftLabelAssigner

__all__ = ['DynamicSoftLabelAssigner']
