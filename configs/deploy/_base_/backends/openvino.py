# OpenVINO (2024.0 or later) on the CPU: the IR (end2end.xml / end2end.bin, float32 weights)
# converted from the ONNX export by ov.convert_model (rtmdet_plus.deploy.openvino; MMDeploy
# 1.3.1's own conversion calls the Model Optimizer, gone since OpenVINO 2025.0).
backend_config = dict(type='openvino')
