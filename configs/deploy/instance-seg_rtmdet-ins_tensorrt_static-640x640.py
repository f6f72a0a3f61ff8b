# RTMDet-Ins, TensorRT fp32, static 1x3x640x640 input (shape from the test pipeline: input_shape
# stays None so scale_factor stays right), NMS by the TRTBatchedNMS plugin.
_base_ = ['./_base_/base_instance-seg_static.py', './_base_/tensorrt_static-640x640.py']
