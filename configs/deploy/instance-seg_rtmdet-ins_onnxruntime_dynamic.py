# RTMDet-Ins, ONNX Runtime, any batch size and input size (MMDeploy ships none for RTMDet-Ins).
_base_ = ['./_base_/base_instance-seg_dynamic.py', './_base_/backends/onnxruntime.py']
