"""Build script: the metadata lives in setup.cfg.

mim (``mim train rtmdet_plus CONFIG``) looks for
``rtmdet_plus/.mim/{configs,tools,model-index.yml}``.
Before each build we lay that folder out: symbolic links for a development install
(``setup.py develop`` / ``pip install -e . --no-use-pep517``), real copies for wheels and sdists.
"""

import os
import shutil
import sys

from setuptools import setup

MIM_ITEMS = ('configs', 'tools', 'model-index.yml')


def lay_out_mim_folder() -> None:
    repo = os.path.dirname(os.path.abspath(__file__))
    mim_dir = os.path.join(repo, 'rtmdet_plus', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    link = 'develop' in sys.argv or os.environ.get('RTMDET_PLUS_MIM_LINKS') == '1'
    for item in MIM_ITEMS:
        src = os.path.join(repo, item)
        dst = os.path.join(mim_dir, item)
        if os.path.islink(dst) or os.path.isfile(dst):
            os.remove(dst)
        elif os.path.isdir(dst):
            shutil.rmtree(dst)
        if not os.path.exists(src):
            continue
        if link:
            os.symlink(os.path.relpath(src, mim_dir), dst)
        elif os.path.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    lay_out_mim_folder()
    setup()
