# Detection, TensorRT fp16, static 1x3x640x640 input, NMS by the TRTBatchedNMS plugin.
_base_ = ['./_base_/base_static.py', './_base_/backends/tensorrt-fp16.py']

onnx_config = dict(input_shape=(640, 640))
backend_config = dict(
    common_config=dict(max_workspace_size=1 << 30),
    model_inputs=[
        dict(
            input_shapes=dict(
                input=dict(
                    min_shape=[1, 3, 640, 640],
                    opt_shape=[1, 3, 640, 640],
                    max_shape=[1, 3, 640, 640])))
    ])
