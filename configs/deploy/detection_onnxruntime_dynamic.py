# Detection, ONNX Runtime, any batch size and input size.
_base_ = ['./_base_/base_dynamic.py', './_base_/backends/onnxruntime.py']
