# INT8 post-training quantization (rtmdet_plus.deploy.quantization): after the ONNX export the
# network is rewritten as a static QDQ graph, int8 weights (per output channel) and uint8
# activations whose ranges come from calib_images images of the model config's calib_dataloader,
# run through its test pipeline (tools/deploy.py --calib-dataloader / --calib-images override).
# The modules named in keep_float (the head's prediction convolutions) and everything after the
# network (decoding, NMS, mask assembly) stay in float. end2end.onnx is the quantized graph,
# end2end_fp32.onnx the float one it came from.
quantization = dict(
    calib_dataloader='val_dataloader',
    calib_images=100,
    keep_float=['rtm_cls', 'rtm_reg', 'rtm_obj', 'rtm_kernel', 'rtm_ang'],
    per_channel=True,
    reduce_range=False)
