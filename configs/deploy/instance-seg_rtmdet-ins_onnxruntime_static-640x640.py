# RTMDet-Ins, ONNX Runtime, static input. input_shape stays None: the shape comes from the
# model's test pipeline (Resize keep_ratio + Pad to 640x640), so scale_factor stays right.
_base_ = ['./_base_/base_instance-seg_static.py', './_base_/backends/onnxruntime.py']
