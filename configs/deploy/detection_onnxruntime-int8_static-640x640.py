# Detection, ONNX Runtime, INT8 (static QDQ, calibrated on the model config's val images; decoding
# and NMS in float): the float ONNX Runtime config plus _base_/int8.py.
_base_ = ['./detection_onnxruntime_static.py', './_base_/int8.py']
