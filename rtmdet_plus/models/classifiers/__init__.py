from .cls_data_preprocessor import ClsDataPreprocessor
from .image_classifier import ImageClassifier
from .linear_cls_head import LinearClsHead

__all__ = ['ClsDataPreprocessor', 'ImageClassifier', 'LinearClsHead']
