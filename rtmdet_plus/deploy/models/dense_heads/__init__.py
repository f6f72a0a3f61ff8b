"""Export-time ``predict_by_feat`` of the RTMDet, RTMDet-Ins and RTMDet-R heads.

Our heads subclass mmdet's ``BaseDenseHead`` and define ``predict_by_feat`` themselves, so
MMDeploy's rewriters for mmdet's ``RTMDetHead`` / ``RTMDetInsHead`` (registered by qualified
name) never apply to them; these do. The detector's ``forward`` is mmdet's ``RTMDet`` and keeps
MMDeploy's rewriter.
"""

from . import rotated_rtmdet_head, rtmdet_head, rtmdet_ins_head  # noqa: F401
