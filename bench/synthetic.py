"""The embedded ``synthetic`` dataset (placeholder shell; the generator is being written)."""

from __future__ import annotations

from bench.types import DatasetInfo


class SyntheticDataset:
    info = DatasetInfo(id="synthetic", name="Synthetic (embedded)", n_scenes=0, embedded=True, has_ground_truth=True)

    def scenes(self, data_dir=None, *, verify: bool = True):
        return []


DATASET = SyntheticDataset()
