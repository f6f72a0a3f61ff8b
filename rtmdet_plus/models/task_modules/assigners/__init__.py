from .dynamic_soft_label_assigner import DynamicSoftLabelAssigner

__all__ = ['DynamicSoftLabelAssigner']
