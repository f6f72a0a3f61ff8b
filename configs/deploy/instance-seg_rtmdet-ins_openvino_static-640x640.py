# RTMDet-Ins, OpenVINO on the CPU, static input (shape from the model's test pipeline: Resize
# keep_ratio + Pad to 640x640); dets, labels and mask logits on the input image from the graph.
_base_ = ['./_base_/base_instance-seg_static.py', './_base_/backends/openvino.py']
