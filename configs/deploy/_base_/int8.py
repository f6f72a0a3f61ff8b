# INT8 post-training quantization (rtmdet_plus.deploy.quantization): after the ONNX export the
# network is rewritten as a static QDQ graph, int8 weights (per output channel) and uint8
# activations whose ranges come from calib_images images of the model config's calib_dataloader,
# run through its test pipeline (tools/deploy.py --calib-dataloader / --calib-images override).
# float_from: the head's prediction convolutions, which stay in float with everything they feed
# (decoding, NMS, mask assembly). keep_float: modules kept in float on their own: the stem's
# first convolution, which reads the image, and the head's convolution towers. Measured on the
# learning test's RTMDet-tiny (bbox mAP 0.570 in FP32): all in int8 0.555 (ONNX Runtime); the first
# convolution in float 0.565 (ONNX Runtime) / 0.558 (OpenVINO); with the towers too 0.570 / 0.563.
# end2end.onnx is the quantized graph, end2end_fp32.onnx the float one it came from.
quantization = dict(
    calib_dataloader='val_dataloader',
    calib_images=100,
    float_from=['rtm_cls', 'rtm_reg', 'rtm_obj', 'rtm_kernel', 'rtm_ang'],
    keep_float=['stem.0', 'cls_convs', 'reg_convs', 'kernel_convs'],
    per_channel=True,
    reduce_range=False,
)
