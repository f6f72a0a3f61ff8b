# Detection, TensorRT fp16, static 1x3x640x640 input, NMS by the TRTBatchedNMS plugin.
_base_ = ['./detection_tensorrt_static-640x640.py']

backend_config = dict(common_config=dict(fp16_mode=True))
