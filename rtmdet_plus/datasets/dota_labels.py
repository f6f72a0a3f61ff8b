"""Reading and writing DOTA ``labelTxt`` files.

One object per line: ``x1 y1 x2 y2 x3 y3 x4 y4 class difficulty`` (corners in pixels, in order
around the object; ``difficulty`` an integer, 0 when the field is left out). Original DOTA files
start with the header lines ``imagesource:...`` and ``gsd:...``; they are skipped.

Bad lines are reported with the file and 1-based line number:

- a line that is not UTF-8 text, a wrong number of fields, a coordinate that is not a finite
  number, a difficulty that is not an integer, an unknown class name: :class:`DOTALabelError`
  (the file cannot be trusted);
- a self-intersecting (corners out of order) or zero-area quadrilateral: the object is left out
  with a :class:`DOTALabelWarning`, since such labels occur in real DOTA annotations.
"""

import math
import warnings
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

HEADER_PREFIXES = ('imagesource:', 'gsd:')
MIN_QUAD_AREA = 1e-2  # px^2; a quadrilateral with less area is degenerate


class DOTALabelError(ValueError):
    """A DOTA label line that cannot be read."""


class DOTALabelWarning(UserWarning):
    """A DOTA label line that was read but left out."""


@dataclass
class DOTAObject:
    """One labelled object: ``quad`` (8,) corner coordinates x1, y1, ..., x4, y4 in pixels."""

    quad: np.ndarray
    class_name: str
    difficulty: int
    line_no: int


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def _segments_cross(p1: np.ndarray, p2: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> bool:
    """Whether segments p1-p2 and q1-q2 cross at a point inside both (proper crossing)."""
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


def quad_area(quad: np.ndarray) -> float:
    """Absolute shoelace area (px^2) of an (8,) quadrilateral."""
    pts = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def quad_is_self_intersecting(quad: np.ndarray) -> bool:
    """Whether the (8,) quadrilateral's opposite sides cross (a 'bow tie')."""
    pts = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    return _segments_cross(pts[0], pts[1], pts[2], pts[3]) or _segments_cross(
        pts[1], pts[2], pts[3], pts[0]
    )


def parse_label_line(
    line: str, path: str, line_no: int, class_names: Optional[Sequence[str]] = None
) -> Optional[DOTAObject]:
    """Parse one line; None for a blank or header line.

    Raises:
        DOTALabelError: wrong field count, non-numeric coordinate or difficulty, unknown class.
    """
    text = line.strip()
    if not text or text.startswith(HEADER_PREFIXES):
        return None
    where = f'{path}, line {line_no}'
    fields = text.split()
    if len(fields) not in (9, 10):
        raise DOTALabelError(
            f'{where}: expected 10 fields "x1 y1 x2 y2 x3 y3 x4 y4 class difficulty" '
            f'(or 9 without difficulty), got {len(fields)}: {text!r}'
        )
    try:
        coords = [float(value) for value in fields[:8]]
    except ValueError:
        raise DOTALabelError(
            f'{where}: the first 8 fields must be numbers (corner '
            f'coordinates in pixels), got {fields[:8]}'
        ) from None
    if not all(math.isfinite(value) for value in coords):
        raise DOTALabelError(f'{where}: corner coordinates must be finite, got {fields[:8]}')
    class_name = fields[8]
    if class_names is not None and class_name not in class_names:
        raise DOTALabelError(
            f'{where}: unknown class {class_name!r}; the dataset classes are '
            f'{list(class_names)} (set metainfo=dict(classes=...) or use the dataset class for '
            f'your DOTA version)'
        )
    difficulty = 0
    if len(fields) == 10:
        try:
            difficulty = int(fields[9])
        except ValueError:
            raise DOTALabelError(
                f'{where}: difficulty must be an integer, got {fields[9]!r}'
            ) from None
    return DOTAObject(np.asarray(coords, dtype=np.float32), class_name, difficulty, line_no)


def check_quad(obj: DOTAObject, path: str) -> bool:
    """True for a usable quadrilateral; else warn (naming file and line) and return False."""
    where = f'{path}, line {obj.line_no}'
    if quad_is_self_intersecting(obj.quad):
        warnings.warn(
            f'{where}: self-intersecting quadrilateral {obj.quad.tolist()} (corners '
            f'not in order around the object); object left out',
            DOTALabelWarning,
        )
        return False
    area = quad_area(obj.quad)
    if area < MIN_QUAD_AREA:
        warnings.warn(
            f'{where}: zero-area quadrilateral {obj.quad.tolist()} (area {area:.3g} '
            f'px^2); object left out',
            DOTALabelWarning,
        )
        return False
    return True


def read_label_file(
    path: str, class_names: Optional[Sequence[str]] = None, drop_bad_quads: bool = True
) -> List[DOTAObject]:
    """All objects of one ``labelTxt`` file, in file order.

    Args:
        path: the label file.
        class_names: allowed class names; None accepts any.
        drop_bad_quads: leave out (with a warning) self-intersecting or zero-area quads.
    """
    objects = []
    with open(path, 'rb') as file:
        for line_no, raw in enumerate(file, start=1):
            try:
                line = raw.decode('utf-8')
            except UnicodeDecodeError as error:
                raise DOTALabelError(
                    f'{path}, line {line_no}: not UTF-8 text ({error.reason} '
                    f'at byte {error.start}); is this a DOTA labelTxt '
                    'file?'
                ) from None
            obj = parse_label_line(line, path, line_no, class_names)
            if obj is None or (drop_bad_quads and not check_quad(obj, path)):
                continue
            objects.append(obj)
    return objects


def format_label_line(quad: Iterable[float], class_name: str, difficulty: int) -> str:
    """One ``labelTxt`` line (no newline), coordinates with up to 2 decimals."""
    coords = ' '.join(f'{float(value):.2f}'.rstrip('0').rstrip('.') for value in quad)
    return f'{coords} {class_name} {int(difficulty)}'


def write_label_file(path: str, objects: Iterable[DOTAObject]) -> None:
    """Write ``objects`` as a ``labelTxt`` file (no header lines)."""
    with open(path, 'w', encoding='utf-8') as file:
        for obj in objects:
            file.write(format_label_line(obj.quad, obj.class_name, obj.difficulty) + '\n')


def class_index(class_names: Sequence[str]) -> Dict[str, int]:
    """Class name -> 0-based label."""
    return {name: index for index, name in enumerate(class_names)}
