"""mmrla: recurrence-along-depth CNN backbones for mmpretrain and mmdet."""
import contextlib
import os
import re
import shutil
import sys
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
# What mim (`mim train/test/search mmrla`) and mmpretrain's ModelHub read from an
# installed OpenMMLab package: <package>/.mim/{configs,tools,model-index.yml}.
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def read_version():
    text = (HERE / 'mmrla' / 'version.py').read_text()
    return re.search(r"__version__ = '([^']+)'", text).group(1)


def read_requirements(name):
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


def _remove(path):
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


@contextlib.contextmanager
def mim_extension():
    """Put configs, tools and model-index.yml into ``mmrla/.mim`` while setup runs,
    as mmpretrain's and mmdet's setup.py do: symlinks for an editable install (edits
    in the clone stay live), copies for a wheel or an sdist (the package carries its
    own). The copies are removed afterwards (symlinks that were there come back), so
    a build never leaves stale configs in the clone for an editable install to read.
    """
    if {'develop', 'editable_wheel'} & set(sys.argv):
        mode = 'symlink'
    elif {'bdist_wheel', 'sdist'} & set(sys.argv):
        mode = 'copy'
    else:  # egg_info, dist_info, ...: metadata only
        yield
        return
    mim = HERE / 'mmrla' / '.mim'
    made_mim = not mim.exists()
    mim.mkdir(exist_ok=True)
    copied = []  # (path, the symlink it replaced or None)
    for name in MIM_FILES:
        src, dst = HERE / name, mim / name
        if not src.exists():  # built from an sdist, which carries mmrla/.mim
            continue
        link = os.path.relpath(src, mim)
        was_link = dst.is_symlink()
        _remove(dst)
        if mode == 'symlink':
            dst.symlink_to(link)
            continue
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
                '__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)
        copied.append((dst, link if was_link else None))
    try:
        yield
    finally:
        for dst, link in copied:
            _remove(dst)
            if link:
                dst.symlink_to(link)
        if made_mim and not any(mim.iterdir()):
            mim.rmdir()


if __name__ == '__main__':
    with mim_extension():
        setup(
            name='mmrla',
            version=read_version(),
            description='Recurrent layer aggregation (RLA-Net) and related '
            'recurrence-along-depth backbones for OpenMMLab',
            long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
            long_description_content_type='text/markdown',
            license='Apache-2.0',
            python_requires='>=3.8',
            packages=find_packages(exclude=('configs', 'tools', 'tests')),
            include_package_data=True,  # mmrla/.mim, as MANIFEST.in lists it
            # The ranges the upstream packages support (requirements/runtime.txt), not
            # the measured pins of tools/setup_env.sh, so pip keeps a user's versions.
            # mmcv is not on the list on purpose: it has no wheel on PyPI for current
            # torch; pip must never try to build it implicitly.
            install_requires=read_requirements('runtime.txt'),
            extras_require={'tests': read_requirements('tests.txt')},
            zip_safe=False,
        )
