# RTMDet-R, OpenVINO on the CPU, static 1x3x1024x1024 input; the graph's mmdeploy::NMSRotated is
# converted to OpenVINO's own NMSRotated (rtmdet_plus.deploy.openvino).
_base_ = ['./_base_/base_rotated_static.py', './_base_/backends/openvino.py']

# input_shape stays None: the shape comes from the model's test pipeline (Resize keep_ratio + Pad
# to 1024x1024); a fixed input_shape would stretch non-square images.
onnx_config = dict(input_shape=None)
