from .mmdet_oracle import (REPO, build_ours, build_reference, perturbed_state_dict,
                           single_process_model_cfg, synthetic_batch)

__all__ = ['REPO', 'build_ours', 'build_reference', 'perturbed_state_dict',
           'single_process_model_cfg', 'synthetic_batch']
