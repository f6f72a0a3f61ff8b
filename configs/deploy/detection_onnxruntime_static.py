# Detection, ONNX Runtime, input shape taken from the model's test pipeline (RTMDet: 640x640).
_base_ = ['./_base_/base_static.py', './_base_/backends/onnxruntime.py']
