# Detection, OpenVINO on the CPU, static input. input_shape stays None: the shape comes from the
# model's test pipeline (RTMDet: Resize keep_ratio + Pad to 640x640), so scale_factor stays right.
# Decoding and NMS (ONNX NonMaxSuppression over the best (prior, class) pairs) are in the graph.
_base_ = ['./_base_/base_static.py', './_base_/backends/openvino.py']
