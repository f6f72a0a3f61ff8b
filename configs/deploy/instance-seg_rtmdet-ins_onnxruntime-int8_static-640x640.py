# RTMDet-Ins, ONNX Runtime, INT8 (static QDQ; decoding, NMS and mask assembly in float).
_base_ = [
    './instance-seg_rtmdet-ins_onnxruntime_static-640x640.py',
    './_base_/int8_instance-seg.py',
]
