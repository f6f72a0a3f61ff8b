# TensorRT fp32; max_workspace_size in bytes (0: TensorRT's default).
backend_config = dict(type='tensorrt', common_config=dict(fp16_mode=False, max_workspace_size=0))
