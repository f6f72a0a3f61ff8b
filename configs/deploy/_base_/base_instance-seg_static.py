# Instance segmentation: dets, labels and masks (B, N, H, W) mask probabilities on the input
# (padded) image, computed in the graph (export_postprocess_mask).
_base_ = ['./base_static.py']

onnx_config = dict(output_names=['dets', 'labels', 'masks'])
codebase_config = dict(post_processing=dict(export_postprocess_mask=True))
