# RTMDet-R, OpenVINO INT8 on the CPU (the QDQ graph converted to an IR; rotated NMS in float).
_base_ = ['./rotated-detection_openvino_static-1024x1024.py', './_base_/int8.py']
