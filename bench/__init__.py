"""mfif-bench: benchmark and evaluation suite for multi-focus image fusion.

The public API is small:

- :mod:`bench.registry` -- ``list_methods``, ``get_method``, ``list_metrics``, ``get_metric``,
  ``list_datasets``, ``get_dataset`` and the ``register_*`` decorators;
- :mod:`bench.imageio` -- reading images into the one convention (float32 in [0, 1], HxW or HxWxC);
- :mod:`bench.types` -- the frozen metadata dataclasses and ``FusionResult``.
"""

__version__ = "0.1.0"
