# RTMDet-R, TensorRT fp16, static 1x3x1024x1024 input, NMS by the TRTBatchedRotatedNMS plugin.
_base_ = ['./_base_/base_rotated_static.py', './_base_/backends/tensorrt-fp16.py']

# input_shape stays None: the shape comes from the model's test pipeline (Resize keep_ratio +
# Pad to 1024x1024). A fixed input_shape would stretch non-square images, and rotated IoU (so
# NMS) and the SDK's ResizeRBBox are not invariant under unequal x and y scales.
onnx_config = dict(input_shape=None)
backend_config = dict(
    common_config=dict(max_workspace_size=1 << 30),
    model_inputs=[
        dict(
            input_shapes=dict(
                input=dict(
                    min_shape=[1, 3, 1024, 1024],
                    opt_shape=[1, 3, 1024, 1024],
                    max_shape=[1, 3, 1024, 1024],
                )
            )
        )
    ],
)
