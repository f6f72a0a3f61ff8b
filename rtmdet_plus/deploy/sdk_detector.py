"""The MMDeploy SDK's detector through its C API, for numpy 2.

``mmdeploy_runtime`` 1.3.1 was built against numpy 1.x; under numpy 2 its ``Detector`` returns a
``labels`` array of stride 0, every entry the label of the last detection (the binding writes
all labels to one element). This calls the same SDK library (``mmdeploy_detector_*`` of the
``libmmdeploy.so`` that ``mmdeploy_runtime`` ships) through ctypes and returns the detector's
results intact; :class:`SDKRotatedDetector` does the same for ``RotatedDetector``.
"""
import ctypes
import glob
import os.path as osp
from typing import List, Tuple

import numpy as np


class _Mat(ctypes.Structure):
    _fields_ = [('data', ctypes.POINTER(ctypes.c_uint8)), ('height', ctypes.c_int),
                ('width', ctypes.c_int), ('channel', ctypes.c_int), ('format', ctypes.c_int),
                ('type', ctypes.c_int), ('device', ctypes.c_void_p)]


class _Mask(ctypes.Structure):
    _fields_ = [('data', ctypes.POINTER(ctypes.c_char)), ('height', ctypes.c_int),
                ('width', ctypes.c_int)]


class _Detection(ctypes.Structure):
    _fields_ = [('label_id', ctypes.c_int), ('score', ctypes.c_float),
                ('bbox', ctypes.c_float * 4), ('mask', ctypes.POINTER(_Mask))]


PIXEL_FORMAT_BGR = 0
DATA_TYPE_UINT8 = 2


def sdk_library() -> ctypes.CDLL:
    """The SDK's C library shipped in ``mmdeploy_runtime`` (imported first: it loads the
    ONNX Runtime net module the detector needs)."""
    import mmdeploy_runtime
    folder = osp.dirname(mmdeploy_runtime.__file__)
    paths = sorted(glob.glob(osp.join(folder, 'libmmdeploy.so*')))
    if not paths:
        raise RuntimeError(f'the MMDeploy SDK library libmmdeploy.so is missing from {folder}; '
                           'reinstall mmdeploy-runtime==1.3.1')
    lib = ctypes.CDLL(paths[0])
    lib.mmdeploy_detector_create_by_path.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                                     ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)]
    lib.mmdeploy_detector_apply.argtypes = [
        ctypes.c_void_p, ctypes.POINTER(_Mat), ctypes.c_int,
        ctypes.POINTER(ctypes.POINTER(_Detection)), ctypes.POINTER(ctypes.POINTER(ctypes.c_int))]
    lib.mmdeploy_detector_release_result.argtypes = [ctypes.POINTER(_Detection),
                                                     ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    lib.mmdeploy_detector_destroy.argtypes = [ctypes.c_void_p]
    return lib


def _bgr_mat(image: np.ndarray) -> Tuple[_Mat, np.ndarray]:
    """An ``mmdeploy_mat_t`` over an (H, W, 3) uint8 BGR image (and the array it points to,
    which must outlive the call)."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'expected an (H, W, 3) BGR image, got shape {image.shape}')
    mat = _Mat(image.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), image.shape[0],
               image.shape[1], 3, PIXEL_FORMAT_BGR, DATA_TYPE_UINT8, None)
    return mat, image


def _create(create, model_path: str, device_name: str, device_id: int) -> ctypes.c_void_p:
    """A handle from ``mmdeploy_*_create_by_path``, or RuntimeError naming the folder."""
    handle = ctypes.c_void_p()
    status = create(model_path.encode(), device_name.encode(), device_id, ctypes.byref(handle))
    if status != 0:
        raise RuntimeError(f'the MMDeploy SDK could not load the model folder {model_path} '
                           f'(status {status}); it needs deploy.json, pipeline.json and the '
                           'backend model written by tools/deploy.py --dump-info')
    return handle


class SDKDetector:
    """``mmdeploy_runtime.Detector`` with correct labels.

    Args:
        model_path: folder with ``deploy.json``, ``pipeline.json`` and the backend model.
        device_name: 'cpu' or 'cuda'.
        device_id: device index.

    ``detector(image)`` with an (H, W, 3) uint8 BGR image returns (dets (N, 5) float32
    x1 y1 x2 y2 score on the image, labels (N,) int64, masks: list of (h, w) uint8).
    """

    def __init__(self, model_path: str, device_name: str = 'cpu', device_id: int = 0):
        self._lib = sdk_library()
        self._handle = _create(self._lib.mmdeploy_detector_create_by_path, model_path,
                               device_name, device_id)

    def __call__(self, image: np.ndarray) -> Tuple[np.ndarray, np.ndarray, List[np.ndarray]]:
        mat, _image = _bgr_mat(image)
        results = ctypes.POINTER(_Detection)()
        counts = ctypes.POINTER(ctypes.c_int)()
        status = self._lib.mmdeploy_detector_apply(self._handle, ctypes.byref(mat), 1,
                                                   ctypes.byref(results), ctypes.byref(counts))
        if status != 0:
            raise RuntimeError(f'MMDeploy SDK detection failed (status {status})')
        try:
            count = counts[0]
            dets = np.zeros((count, 5), dtype=np.float32)
            labels = np.zeros(count, dtype=np.int64)
            masks = []
            for i in range(count):
                detection = results[i]
                dets[i, :4] = list(detection.bbox)
                dets[i, 4] = detection.score
                labels[i] = detection.label_id
                if detection.mask:
                    mask = detection.mask.contents
                    buffer = ctypes.string_at(mask.data, mask.height * mask.width)
                    masks.append(np.frombuffer(buffer, dtype=np.uint8).reshape(
                        mask.height, mask.width).copy())
        finally:
            self._lib.mmdeploy_detector_release_result(results, counts, 1)
        return dets, labels, masks

    def __del__(self):
        if getattr(self, '_handle', None) and self._handle.value:
            self._lib.mmdeploy_detector_destroy(self._handle)
            self._handle = ctypes.c_void_p()


class _RotatedDetection(ctypes.Structure):
    _fields_ = [('label_id', ctypes.c_int), ('score', ctypes.c_float),
                ('rbbox', ctypes.c_float * 5)]


class SDKRotatedDetector:
    """``mmdeploy_runtime.RotatedDetector`` with correct labels (its binding has the same
    numpy 2 flaw). ``detector(image)`` -> (dets (N, 6) cx cy w h angle score, labels (N,))."""

    def __init__(self, model_path: str, device_name: str = 'cpu', device_id: int = 0):
        lib = sdk_library()
        lib.mmdeploy_rotated_detector_create_by_path.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)]
        lib.mmdeploy_rotated_detector_apply.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(_Mat), ctypes.c_int,
            ctypes.POINTER(ctypes.POINTER(_RotatedDetection)),
            ctypes.POINTER(ctypes.POINTER(ctypes.c_int))]
        lib.mmdeploy_rotated_detector_release_result.argtypes = [
            ctypes.POINTER(_RotatedDetection), ctypes.POINTER(ctypes.c_int)]
        lib.mmdeploy_rotated_detector_destroy.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._handle = _create(lib.mmdeploy_rotated_detector_create_by_path, model_path,
                               device_name, device_id)

    def __call__(self, image: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        mat, _image = _bgr_mat(image)
        results = ctypes.POINTER(_RotatedDetection)()
        counts = ctypes.POINTER(ctypes.c_int)()
        status = self._lib.mmdeploy_rotated_detector_apply(
            self._handle, ctypes.byref(mat), 1, ctypes.byref(results), ctypes.byref(counts))
        if status != 0:
            raise RuntimeError(f'MMDeploy SDK rotated detection failed (status {status})')
        try:
            count = counts[0]
            dets = np.zeros((count, 6), dtype=np.float32)
            labels = np.zeros(count, dtype=np.int64)
            for i in range(count):
                dets[i, :5] = list(results[i].rbbox)
                dets[i, 5] = results[i].score
                labels[i] = results[i].label_id
        finally:
            self._lib.mmdeploy_rotated_detector_release_result(results, counts)
        return dets, labels

    def __del__(self):
        if getattr(self, '_handle', None) and self._handle.value:
            self._lib.mmdeploy_rotated_detector_destroy(self._handle)
            self._handle = ctypes.c_void_p()
