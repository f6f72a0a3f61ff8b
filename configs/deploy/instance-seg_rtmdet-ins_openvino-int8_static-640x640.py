# RTMDet-Ins, OpenVINO INT8 on the CPU (the QDQ graph converted to an IR).
_base_ = ['./instance-seg_rtmdet-ins_openvino_static-640x640.py', './_base_/int8_instance-seg.py']
