"""mmrla: recurrence-along-depth CNN backbones for mmpretrain and mmdet."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_version():
    text = (HERE / 'mmrla' / 'version.py').read_text()
    return re.search(r"__version__ = '([^']+)'", text).group(1)


def read_requirements(name):
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


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
    # mmcv is not on this list on purpose: it has no wheel on PyPI and is
    # built by tools/setup_env.sh; pip must never try to build it implicitly.
    install_requires=[r for r in read_requirements('stack.txt')],
    extras_require={'tests': read_requirements('tests.txt')},
    zip_safe=False,
)
