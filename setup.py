"""Packaging (metadata in setup.cfg). One addition to the standard build: the base training corpus
(training_data/, kept at the top of the repository) is copied into the package when a wheel is
built, so an installed rhi-nlp can retrain from it plus a user's labels."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BASE_TRAINING = ["corpus.csv", "independent/independent.csv", "heldout/heldout.csv"]


class BuildWithTrainingData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads training_data/ from the checkout
        dst = Path(self.build_lib) / "rhi_nlp" / "bundled" / "training_data"
        for rel in BASE_TRAINING:
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(HERE / "training_data" / rel, dst / rel)


setup(cmdclass={"build_py": BuildWithTrainingData})
