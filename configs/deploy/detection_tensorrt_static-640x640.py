# Detection, TensorRT fp32, static 1x3x640x640 input, NMS by the TRTBatchedNMS plugin.
_base_ = ['./_base_/base_static.py', './_base_/tensorrt_static-640x640.py']

onnx_config = dict(input_shape=(640, 640))
