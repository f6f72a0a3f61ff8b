# RTMDet-R, ONNX Runtime, static 1x3x1024x1024 input, NMS by mmdeploy::NMSRotated.
_base_ = ['./_base_/base_rotated_static.py', './_base_/backends/onnxruntime.py']

# input_shape stays None: the shape comes from the model's test pipeline (Resize keep_ratio +
# Pad to 1024x1024). A fixed input_shape would stretch non-square images, and rotated IoU (so
# NMS) and the SDK's ResizeRBBox are not invariant under unequal x and y scales.
onnx_config = dict(input_shape=None)
