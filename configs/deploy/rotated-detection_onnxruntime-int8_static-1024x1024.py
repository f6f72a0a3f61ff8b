# RTMDet-R, ONNX Runtime, INT8 (static QDQ; decoding and mmdeploy::NMSRotated in float).
_base_ = ['./rotated-detection_onnxruntime_static-1024x1024.py', './_base_/int8.py']
