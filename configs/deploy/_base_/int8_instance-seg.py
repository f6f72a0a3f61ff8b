# INT8 for RTMDet-Ins: as _base_/int8.py, and the neck and the mask feature head in float too.
# Measured on the Ins learning test's RTMDet-Ins-tiny (segm / bbox mAP 0.391 / 0.425 in FP32,
# ONNX Runtime): with int8.py alone 0.378 / 0.405; any one part of the neck in float 0.376-0.385 /
# 0.404-0.414; stage 4 of the backbone in float 0.379 / 0.407; the whole neck 0.387 / 0.427; the
# neck and the mask feature head 0.392 / 0.427.
_base_ = ['./int8.py']
quantization = dict(
    keep_float=['stem.0', 'cls_convs', 'reg_convs', 'kernel_convs', 'neck', 'mask_head']
)
