"""Image classifier: backbone -> neck -> head (mmpretrain's ``ImageClassifier``; state-dict
``backbone.*``, ``neck.*``, ``head.*``)."""

from typing import List, Optional

from mmengine.model import BaseModel
from torch import Tensor

from rtmdet_plus.registry import MODELS
from rtmdet_plus.structures.cls_data_sample import ClsDataSample


@MODELS.register_module()
class ImageClassifier(BaseModel):
    """Classify (N, 3, H, W) images.

    Args:
        backbone, neck, head: configs (the head a :class:`LinearClsHead`).
        train_cfg: ``dict(augments=[dict(type='Mixup', alpha=...), ...])``: the batch augments
            of training, given to the data preprocessor.
        data_preprocessor: config of :class:`ClsDataPreprocessor` (the default type).

    ``forward`` modes: 'tensor' -> (N, C) logits; 'loss' -> ``dict(loss=...)``; 'predict' ->
    the data samples with ``pred_score`` (C,) softmax scores and ``pred_label``.
    """

    def __init__(
        self,
        backbone: dict,
        neck: Optional[dict] = None,
        head: Optional[dict] = None,
        pretrained: Optional[str] = None,
        train_cfg: Optional[dict] = None,
        data_preprocessor: Optional[dict] = None,
        init_cfg=None,
    ) -> None:
        if pretrained is not None:
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'ClsDataPreprocessor')
        data_preprocessor.setdefault('batch_augments', train_cfg)
        if head is not None:
            data_preprocessor.setdefault('num_classes', head.get('num_classes'))
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.head = MODELS.build(head) if head is not None else None

    def extract_feat(self, inputs: Tensor):
        feats = self.backbone(inputs)
        return self.neck(feats) if self.neck is not None else feats

    def forward(
        self,
        inputs: Tensor,
        data_samples: Optional[List[ClsDataSample]] = None,
        mode: str = 'tensor',
    ):
        if mode == 'tensor':
            feats = self.extract_feat(inputs)
            return self.head(feats) if self.head is not None else feats
        if mode == 'loss':
            return self.head.loss(self.extract_feat(inputs), data_samples)
        if mode == 'predict':
            return self.head.predict(self.extract_feat(inputs), data_samples)
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}")
