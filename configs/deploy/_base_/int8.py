# INT8 post-training quantization (rtmdet_plus.deploy.quantization): after the ONNX export the
# network is rewritten as a static QDQ graph, int8 weights (per output channel) and uint8
# activations whose ranges come from calib_images images of the model config's calib_dataloader,
# run through its test pipeline (tools/deploy.py --calib-dataloader / --calib-images override).
# float_from: the head's prediction convolutions, which stay in float with everything they feed
# (decoding, NMS, mask assembly). keep_float: modules kept in float on their own; the stem's
# first convolution, which reads the image (int8 there cost 1.0-1.5 bbox mAP points of the 1.5
# lost on the shapes model; in float 0.5).
# end2end.onnx is the quantized graph, end2end_fp32.onnx the float one it came from.
quantization = dict(
    calib_dataloader='val_dataloader',
    calib_images=100,
    float_from=['rtm_cls', 'rtm_reg', 'rtm_obj', 'rtm_kernel', 'rtm_ang'],
    keep_float=['stem.0'],
    per_channel=True,
    reduce_range=False)
