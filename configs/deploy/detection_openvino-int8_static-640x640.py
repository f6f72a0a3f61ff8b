# Detection, OpenVINO INT8 on the CPU: the QDQ graph of the ONNX Runtime INT8 config converted
# to an IR (OpenVINO runs its QuantizeLinear/DequantizeLinear pairs as int8 FakeQuantize).
_base_ = ['./detection_openvino_static-640x640.py', './_base_/int8.py']
