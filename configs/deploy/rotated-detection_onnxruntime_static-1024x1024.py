# RTMDet-R, ONNX Runtime, static 1x3x1024x1024 input, NMS by mmdeploy::NMSRotated.
_base_ = ['./_base_/base_rotated_static.py', './_base_/backends/onnxruntime.py']

onnx_config = dict(input_shape=(1024, 1024))
