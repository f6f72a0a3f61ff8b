# TensorRT with one static 1x3x640x640 input (fp32; fp16 configs set common_config.fp16_mode).
_base_ = ['./backends/tensorrt.py']

backend_config = dict(
    common_config=dict(max_workspace_size=1 << 30),
    model_inputs=[
        dict(
            input_shapes=dict(
                input=dict(
                    min_shape=[1, 3, 640, 640],
                    opt_shape=[1, 3, 640, 640],
                    max_shape=[1, 3, 640, 640],
                )
            )
        )
    ],
)
