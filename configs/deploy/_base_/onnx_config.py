# ONNX export settings shared by every deploy config (field names as in MMDeploy 1.3.1).
# The graph is written with torch's TorchScript-based exporter: importing rtmdet_plus.deploy
# (custom_imports below) makes torch.onnx.export default to dynamo=False on torch >= 2.9, in this
# process and in MMDeploy's export subprocess, which loads this file again.
custom_imports = dict(imports=['rtmdet_plus.deploy'], allow_failed_imports=False)

onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    opset_version=11,
    save_file='end2end.onnx',
    input_names=['input'],
    output_names=['output'],
    input_shape=None,
    optimize=True,
)
