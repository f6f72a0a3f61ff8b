"""Checks of COCO ``segmentation`` fields against their image, before mmdet decodes them.

A COCO segmentation is either a list of polygons ``[[x1, y1, x2, y2, ...], ...]`` (pixel
coordinates) or a run-length encoding ``{'size': [height, width], 'counts': ...}``, ``counts``
being a list of run lengths (uncompressed) or COCO's compressed string. mmdet drops malformed
polygons silently and hands RLEs to pycocotools' C decoder unchecked (which writes past its
buffer when the runs add up to more than ``height * width``). Here:

- malformed input raises :class:`SegmentationError`: a polygon with an odd number of
  coordinates or non-numeric / non-finite ones, a bare list of numbers instead of a list of
  polygons, an RLE without ``size``/``counts``, with negative runs, runs that do not add up to
  ``height * width``, or an undecodable counts string;
- a mask that does not fit its image raises too: an RLE whose ``size`` is not the image's, or a
  polygon reaching more than ``BORDER_TOLERANCE`` pixels outside the image (annotations made for
  another resolution);
- polygons of fewer than 3 points (a few exist in COCO itself) are dropped and reported;
- an empty mask (no polygon left, zero area, an RLE without foreground) is reported as empty:
  the dataset then gives the instance no mask, which mmdet's ``LoadAnnotations(with_mask=True)``
  turns into an ignored instance (left out of the losses).
"""

import math
from numbers import Real
from typing import List, NamedTuple, Union

import numpy as np

BORDER_TOLERANCE = 2.0  # pixels a polygon may reach beyond the image border (rounding, COCO)

Segmentation = Union[List[List[float]], dict]


class SegmentationError(ValueError):
    """A segmentation that cannot be used as it is; the message says what is wrong."""


class CheckedSegmentation(NamedTuple):
    """``segmentation``: what to train with ([] when empty). ``dropped_parts``: polygons of
    fewer than 3 points removed. ``empty``: no foreground pixel is left."""

    segmentation: Segmentation
    dropped_parts: int
    empty: bool


def rle_counts_from_string(counts: Union[str, bytes]) -> List[int]:
    """Run lengths of COCO's compressed RLE string.

    Each run is a variable-length integer in 5-bit groups, least significant first, one
    character (``chr(48 + group)``) per group with 0x20 set while more groups follow; the last
    group's 0x10 bit is the sign. From the fourth run on, a value is stored as the difference
    to the run two places back.
    """
    if isinstance(counts, bytes):
        counts = counts.decode('ascii', errors='replace')
    runs: List[int] = []
    value, shift, more = 0, 0, False
    for char in counts:
        group = ord(char) - 48
        if not 0 <= group < 64:
            raise SegmentationError(
                f'RLE counts string has the character {char!r}, outside '
                "COCO's alphabet (chr(48) to chr(111))"
            )
        value |= (group & 0x1F) << shift
        shift += 5
        more = bool(group & 0x20)
        if not more:
            if group & 0x10:
                value -= 1 << shift
            if len(runs) > 2:
                value += runs[-2]
            runs.append(value)
            value, shift = 0, 0
    if more:
        raise SegmentationError('RLE counts string is truncated (its last run is unfinished)')
    return runs


def _is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _coordinates(polygon, index: int) -> np.ndarray:
    """(N, 2) float64 x, y of one polygon, or SegmentationError."""
    if not isinstance(polygon, (list, tuple)):
        raise SegmentationError(
            f'polygon {index} is a {type(polygon).__name__}, not a list of '
            'coordinates [x1, y1, x2, y2, ...]'
        )
    try:
        coords = np.asarray(polygon, dtype=np.float64)
    except (TypeError, ValueError):
        coords = None
    if coords is None or coords.ndim != 1 or not np.isfinite(coords).all():
        bad = [value for value in polygon if not _is_number(value)]
        raise SegmentationError(
            f'polygon {index} has non-numeric or non-finite coordinate(s) {bad[:3]}'
        )
    if len(coords) % 2:
        raise SegmentationError(
            f'polygon {index} has an odd number of coordinates '
            f'({len(coords)}); it must list x, y pairs'
        )
    return coords.reshape(-1, 2)


def check_polygons(polygons: list, height: int, width: int) -> CheckedSegmentation:
    """Check a list of polygons for an image of ``height`` x ``width`` pixels."""
    if polygons and all(_is_number(value) for value in polygons):
        raise SegmentationError(
            'segmentation is a flat list of numbers; polygons must be given '
            'as a list of lists: [[x1, y1, x2, y2, ...], ...]'
        )
    kept, area = [], 0.0
    for index, polygon in enumerate(polygons):
        points = _coordinates(polygon, index)
        if len(points) < 3:
            continue  # no area: dropped
        low, high = points.min(axis=0), points.max(axis=0)
        if (low < -BORDER_TOLERANCE).any() or (
            high > np.array([width, height]) + BORDER_TOLERANCE
        ).any():
            raise SegmentationError(
                f'polygon {index} spans x {low[0]:g}..{high[0]:g}, y {low[1]:g}..{high[1]:g}, '
                f'outside the {width}x{height} (width x height) image: the mask does not match '
                'the image size (annotated at another resolution?)'
            )
        kept.append(polygon)
        xs, ys = points[:, 0], points[:, 1]
        area += 0.5 * abs(float(np.dot(xs, np.roll(ys, 1)) - np.dot(np.roll(xs, 1), ys)))
    empty = area <= 0
    return CheckedSegmentation([] if empty else kept, len(polygons) - len(kept), empty)


def check_rle(rle: dict, height: int, width: int) -> CheckedSegmentation:
    """Check a run-length encoding for an image of ``height`` x ``width`` pixels."""
    size, counts = rle.get('size'), rle.get('counts')
    if counts is None or size is None:
        raise SegmentationError(
            f"RLE needs both 'size' ([height, width]) and 'counts'; it has the keys {sorted(rle)}"
        )
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(side, int) and side > 0 for side in size)
    ):
        raise SegmentationError(f"RLE 'size' is {size!r}; it must be [height, width] in pixels")
    if list(size) != [height, width]:
        raise SegmentationError(
            f"RLE 'size' is {list(size)} but the image is [{height}, {width}] ([height, width]): "
            'the mask does not match the image size'
        )
    if isinstance(counts, (str, bytes)):
        runs = rle_counts_from_string(counts)
    elif isinstance(counts, (list, tuple)) and all(
        isinstance(run, int) and not isinstance(run, bool) for run in counts
    ):
        runs = list(counts)
    else:
        raise SegmentationError(
            "RLE 'counts' must be a list of run lengths (integers) or a "
            f'compressed COCO string, not {type(counts).__name__} '
            f'{str(counts)[:40]}'
        )
    if any(run < 0 for run in runs):
        raise SegmentationError("RLE 'counts' has a negative run length")
    if sum(runs) != height * width:
        raise SegmentationError(
            f"RLE runs add up to {sum(runs)} pixels, not height x width = {height * width}"
        )
    empty = sum(runs[1::2]) == 0  # runs alternate background, foreground, ...
    return CheckedSegmentation([] if empty else rle, 0, empty)


def check_segmentation(segmentation, height: int, width: int) -> CheckedSegmentation:
    """Check one annotation's ``segmentation`` (polygons or RLE) against its image size.

    Raises:
        SegmentationError: the segmentation is malformed or does not fit the image.
    """
    if isinstance(segmentation, dict):
        return check_rle(segmentation, height, width)
    if isinstance(segmentation, (list, tuple)):
        return check_polygons(list(segmentation), height, width)
    raise SegmentationError(
        f'segmentation is a {type(segmentation).__name__}; it must be a '
        'list of polygons or an RLE dict'
    )
